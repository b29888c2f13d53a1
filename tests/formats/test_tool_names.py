"""Tool names in any script (`查询天气`, common in Chinese tool sets) render and parse back in
every format; the server accepts them as vLLM and ollama do (tests/serve/test_server_openai.py)."""

import copy

import pytest

from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.messages import Message, ToolCall
from tooltune.export.templates import jinja_template

NAME = "查询天气"
WEATHER = {"type": "function", "function": {"name": NAME, "description": "查询城市天气",
           "parameters": {"type": "object", "properties": {"城市": {"type": "string"}}, "required": ["城市"]}}}
ARGS = {"城市": "北京"}


def conversation():
    return [Message("user", "北京天气怎么样？"), Message("assistant", None, tool_calls=[ToolCall(NAME, ARGS, id="c1")])]


@pytest.mark.parametrize("fmt,lang", [("json", "en"), ("json", "zh"), ("react", "en"), ("react", "zh")])
def test_non_ascii_tool_name_renders_and_parses_back(fmt, lang):
    f = get_format(fmt, lang)
    rendered = f.render(conversation(), [WEATHER])
    system = rendered.turns[0].segments[0].text
    assert NAME in system  # the tool list shows the name as written, not \\u-escaped
    (assistant,) = [t for t in rendered.turns if t.role == "assistant"]
    text = "".join(s.text for s in assistant.segments)
    assert NAME in text
    parsed = f.parse(text, [WEATHER])
    assert parsed.kind == "tool_calls" and [(c.name, c.arguments) for c in parsed.calls] == [(NAME, ARGS)]


def test_native_round_trip_with_non_ascii_tool_name(smol_tokenizer):
    """native: the model's own template renders the call (the exported hermes-style template
    stands in for a Qwen-like one), the family parser reads it back."""
    tok = copy.deepcopy(smol_tokenizer)
    tok.chat_template = jinja_template("zh")
    f = get_format("native")
    assert f.use_model(tok) == "hermes"
    segs = ChatRenderer(tok).segments(f.render(conversation(), [WEATHER]))
    (trained,) = [s.text for s in segs if s.train]
    assert NAME in trained
    parsed = f.parse(trained.removesuffix("<|im_end|>"), [WEATHER])
    assert parsed.kind == "tool_calls" and [(c.name, c.arguments) for c in parsed.calls] == [(NAME, ARGS)]
