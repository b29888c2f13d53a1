"""The ollama Modelfile TEMPLATE run for real by Go's text/template (when `go` is installed), and
the vLLM tool-parser plugin against a stand-in for vLLM's classes."""

import dataclasses
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.serve.templates import modelfile, ollama_template

from .samples import SAMPLES, canonical

GO = shutil.which("go")
RENDERER = Path(__file__).parent / "ollama_render" / "main.go"


def normalize_json_lines(text):
    """Go writes JSON compactly, with sorted map keys, `<>&` escaped and an empty `required`
    omitted; Python writes `json.dumps` spacing. Compare the same JSON values, not the spelling."""
    out = []
    for line in text.split("\n"):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            out.append(line)
            continue
        if isinstance(value, dict):
            params = value.get("function", {}).get("parameters", {})
            if params.get("required") == []:
                del params["required"]
            line = json.dumps(value, sort_keys=True, separators=(",", ":"))
        out.append(line)
    return "\n".join(out)


def go_render(template, messages, tools, tmp_path):
    ollama_messages = []
    for m in messages:
        calls = [{"function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"]}} for c in m.get("tool_calls") or []]
        ollama_messages.append({"role": m["role"], "content": m.get("content") or "", "thinking": m.get("reasoning") or "",
                                "tool_calls": calls})
    env = {**os.environ, "GOCACHE": str(tmp_path / "gocache"), "GOPATH": str(tmp_path / "gopath"), "GOFLAGS": "-mod=mod"}
    r = subprocess.run([GO, "run", str(RENDERER)], input=json.dumps({"template": template, "messages": ollama_messages, "tools": tools}),
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.skipif(GO is None, reason="needs the Go toolchain (`apt-get install golang-go`) to run the template for real")
@pytest.mark.parametrize("name", list(SAMPLES))
def test_ollama_template_renders_like_training(smol_tokenizer, tmp_path, name):
    messages, tools = SAMPLES[name]
    got = go_render(ollama_template("en"), messages, tools, tmp_path)
    rendered = get_format("json").render(canonical(messages), tools)
    expected = ChatRenderer(smol_tokenizer)._apply(rendered.turns, None, messages[-1]["role"] != "assistant")
    assert normalize_json_lines(got["text"]) == normalize_json_lines(expected)
    assert got["tag"] == "<tool_call>" and got["mentions_tools"]


def test_modelfile_points_at_the_gguf_and_stops_like_training():
    text = modelfile("model-q8_0.gguf")
    assert text.startswith("FROM ./model-q8_0.gguf\nTEMPLATE \"\"\"<|im_start|>system\n")
    assert 'PARAMETER stop "<|im_end|>"' in text and 'PARAMETER stop "<tool_response>"' in text
    template = re.search(r'TEMPLATE """(.*?)"""', text, re.S).group(1)
    assert template == ollama_template("en") and "{{ if .Tools }}" in template and "{{ if .ToolCalls }}" in template


# -- vLLM plugin ---------------------------------------------------------------------------------

PLUGIN = Path(__file__).resolve().parents[2] / "src" / "tooltune" / "serve" / "vllm_tool_parser.py"
# (protocol module, parser module, does ToolParser.__init__ take the request's tools)
LAYOUTS = {
    "0.32": ("vllm.entrypoints.generate.base.protocol", "vllm.tool_parsers.abstract_tool_parser", True),
    "0.1x": ("vllm.entrypoints.openai.engine.protocol", "vllm.tool_parsers.abstract_tool_parser", False),
    "0.9": ("vllm.entrypoints.openai.protocol", "vllm.entrypoints.openai.tool_parsers.abstract_tool_parser", False),
}


def load_plugin(name="tooltune_tool_parser"):
    spec = importlib.util.spec_from_file_location(name, PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=list(LAYOUTS))
def plugin(monkeypatch, request):
    """Load the plugin file against stand-in vLLM modules laid out as each vLLM release has them;
    vLLM builds the parser the way that release does (`cls(tokenizer, tools)` since 0.32)."""
    protocol_home, parsers_home, takes_tools = LAYOUTS[request.param]
    registry = {}

    if takes_tools:
        class ToolParser:
            def __init__(self, tokenizer, tools=None):
                self.model_tokenizer, self.tools = tokenizer, tools or []
    else:
        class ToolParser:
            def __init__(self, tokenizer):
                self.model_tokenizer = tokenizer

    class ToolParserManager:
        @staticmethod
        def register_module(name):
            def deco(cls):
                registry[name] = cls
                return cls
            return deco

    def record(cls_name, /, **fields):
        return dataclasses.make_dataclass(cls_name, [(k, object, dataclasses.field(default=v)) for k, v in fields.items()])

    protocol = types.ModuleType(protocol_home)
    protocol.DeltaMessage = record("DeltaMessage", content=None, tool_calls=None)
    protocol.DeltaFunctionCall = record("DeltaFunctionCall", name=None, arguments=None)
    protocol.DeltaToolCall = record("DeltaToolCall", index=0, id=None, type=None, function=None)
    protocol.ExtractedToolCallInformation = record("ExtractedToolCallInformation", tools_called=False, tool_calls=None, content=None)
    protocol.FunctionCall = record("FunctionCall", name=None, arguments=None)
    protocol.ToolCall = record("ToolCall", id=None, type="function", function=None)
    parsers = types.ModuleType(parsers_home)
    parsers.ToolParser, parsers.ToolParserManager = ToolParser, ToolParserManager
    for home in (protocol_home, parsers_home):  # every parent package, empty
        parts = home.split(".")
        for i in range(1, len(parts)):
            monkeypatch.setitem(sys.modules, ".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    monkeypatch.setitem(sys.modules, protocol.__name__, protocol)
    monkeypatch.setitem(sys.modules, parsers.__name__, parsers)
    load_plugin()
    return registry["tooltune"](None, [CALC]) if takes_tools else registry["tooltune"](None)


class Request:
    def __init__(self, tools):
        self.tools = [types.SimpleNamespace(model_dump=lambda t=t: t) for t in tools]


CALC = SAMPLES["single_call_loop"][1][0]


def test_vllm_plugin_extracts_calls_with_tooltunes_parser(plugin):
    text = 'Let me compute.\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "2+2"}}\n</tool_call>'
    info = plugin.extract_tool_calls(text, Request([CALC]))
    assert info.tools_called and info.content == "Let me compute."
    (call,) = info.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("calculator", {"expression": "2+2"})
    # tooltune's lenient repairs apply: single quotes, a near-miss tool name
    info = plugin.extract_tool_calls("<tool_call>{'name': 'Calculator', 'arguments': {'expression': '3*3'}}</tool_call>", Request([CALC]))
    assert info.tool_calls[0].function.name == "calculator"
    plain = plugin.extract_tool_calls("Just an answer.", Request([CALC]))
    assert not plain.tools_called and plain.content == "Just an answer."


def test_vllm_plugin_streaming(plugin):
    text = ('Thinking <b>.\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "1+1"}}\n</tool_call>\n'
            '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2*3"}}\n</tool_call>')
    request, previous, deltas = Request([CALC]), "", []
    for i in range(0, len(text), 3):  # 3-character "tokens"
        current = text[: i + 3]
        delta = plugin.extract_tool_calls_streaming(previous, current, current[len(previous):], [], [], [], request)
        previous = current
        if delta is not None:
            deltas.append(delta)
    content = "".join(d.content for d in deltas if d.content)
    calls = [c for d in deltas if d.tool_calls for c in d.tool_calls]
    assert content == "Thinking <b>.\n"
    assert [(c.index, c.function.name, json.loads(c.function.arguments)) for c in calls] == \
        [(0, "calculator", {"expression": "1+1"}), (1, "calculator", {"expression": "2*3"})]
    assert all(c.id.startswith("call_") for c in calls)
    assert plugin.streamed_args_for_tool == [c.function.arguments for c in calls]
    assert plugin.prev_tool_call_arr == [{"name": "calculator", "arguments": {"expression": "1+1"}},
                                         {"name": "calculator", "arguments": {"expression": "2*3"}}]
