"""Reasoning blocks (issue 13 item 2): `<think>…</think>` goes to `reasoning` (the message's
`reasoning_content`), content keeps what follows, a call inside reasoning is no call, and a
completion that ends inside reasoning is a truncated (invalid) step — in every format."""

import pytest

from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.messages import Message, ToolCall

from .cases import TOOLS

CALL = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2+2"}}\n</tool_call>'
REACT_CALL = 'Action: calculator\nAction Input: {"expression": "2+2"}'
ANSWER = {"json": "The answer is 4.", "native": "The answer is 4.", "react": "Thought: done\nFinal Answer: The answer is 4."}
CALLS = {"json": CALL, "native": CALL, "react": "Thought: compute it\n" + REACT_CALL}
THOUGHT = {"json": None, "native": None, "react": "compute it"}


def parse(fmt, text):
    return get_format(fmt).parse(text, TOOLS)


@pytest.mark.parametrize("fmt", ["json", "native", "react"])
@pytest.mark.parametrize("opening", ["<think>", ""], ids=["both_tags", "only_closing_tag"])
def test_reasoning_before_an_answer_is_split_off(fmt, opening):
    parsed = parse(fmt, f"{opening}The user wants 2+2.\nIt is 4.</think>\n\n{ANSWER[fmt]}")
    assert parsed.kind == "final" and parsed.content == "The answer is 4."
    expected = "The user wants 2+2.\nIt is 4." + ("\n\ndone" if fmt == "react" else "")
    assert parsed.reasoning == expected
    assert parsed.to_json() == {"kind": "final", "content": "The answer is 4.", "reasoning": expected}


@pytest.mark.parametrize("fmt", ["json", "native", "react"])
def test_calls_after_reasoning_parse_as_usual(fmt):
    parsed = parse(fmt, f"<think>I need the calculator.</think>\n{CALLS[fmt]}")
    assert parsed.kind == "tool_calls" and [(c.name, c.arguments) for c in parsed.calls] == [("calculator", {"expression": "2+2"})]
    assert parsed.thought == THOUGHT[fmt]
    assert parsed.reasoning == "I need the calculator." + ("\n\ncompute it" if fmt == "react" else "")


@pytest.mark.parametrize("fmt", ["json", "native", "react"])
def test_a_call_inside_reasoning_is_not_a_call(fmt):
    parsed = parse(fmt, f"<think>Maybe:\n{CALLS[fmt]}\nNo, I know it.</think>\n{ANSWER[fmt]}")
    assert parsed.kind == "final" and parsed.calls == [] and parsed.content == "The answer is 4."
    assert CALLS[fmt] in parsed.reasoning


@pytest.mark.parametrize("fmt", ["json", "native", "react"])
@pytest.mark.parametrize("text", ["<think>I should call the calc", f"<think>Let me try {CALL}", "  <THINK>"], ids=["prose", "call", "empty"])
def test_completion_cut_off_inside_reasoning_is_a_truncated_step(fmt, text):
    parsed = parse(fmt, text)
    assert parsed.kind == "invalid" and parsed.calls == []
    assert parsed.error == "the completion ended inside its <think> reasoning (no </think>): a truncated step"


@pytest.mark.parametrize("fmt", ["json", "react"])
def test_reasoning_only_is_not_an_answer(fmt):
    assert parse(fmt, "<think>hmm</think>").to_json() == {"kind": "invalid", "error": "empty completion", "reasoning": "hmm"}


def test_text_without_reasoning_is_untouched():
    parsed = parse("json", "I think <think> tags are odd.")
    assert parsed.kind == "final" and parsed.content == "I think <think> tags are odd." and parsed.reasoning is None


QWEN3_LIKE = (  # the part of Qwen3's template that places reasoning_content (kept minimal)
    "{% for m in messages %}<|im_start|>{{ m.role }}\n"
    "{% if m.role == 'assistant' and m.reasoning_content %}<think>\n{{ m.reasoning_content }}\n</think>\n\n{% endif %}"
    "{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    "{# tools #}"
)


def test_native_rendering_puts_reasoning_where_the_template_does_and_trains_it(smol_tokenizer):
    tok = smol_tokenizer
    saved = tok.chat_template
    try:
        tok.chat_template = QWEN3_LIKE
        msgs = [Message("user", "2+2?"), Message("assistant", "4", reasoning_content="Simple sum.")]
        segs = ChatRenderer(tok).segments(get_format("native").render(msgs, TOOLS))
    finally:
        tok.chat_template = saved
    trained = "".join(s.text for s in segs if s.train)
    assert trained == "<think>\nSimple sum.\n</think>\n\n4<|im_end|>"


def test_react_and_json_render_reasoning_as_their_thought():
    call = ToolCall("calculator", {"expression": "2+2"}, id="c1")
    msg = Message("assistant", None, tool_calls=[call], reasoning_content="I need the calculator.")
    react = get_format("react").render([Message("user", "q"), msg], TOOLS).turns[-1].text
    assert react.startswith("Thought: I need the calculator.\nAction: calculator")
    assert get_format("json").render([Message("user", "q"), msg], TOOLS).turns[-1].text.startswith("I need the calculator.\n<tool_call>")
