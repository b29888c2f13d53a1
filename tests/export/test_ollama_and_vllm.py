"""The ollama Modelfile TEMPLATE run for real by Go's text/template (when `go` is installed), and
the exported vLLM tool-parser plugin against a stand-in for vLLM's classes."""

import json
import os
import re
import shutil
import subprocess
import types
from pathlib import Path

import pytest

from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.export.templates import modelfile, ollama_template

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
