"""gpt-oss (OpenAI harmony format): the completion is a series of messages on channels:

    <|channel|>analysis<|message|>reasoning…<|end|>
    <|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>
    <|start|>assistant<|channel|>final<|message|>The answer.<|return|>

`analysis` is reasoning (→ reasoning_content), `commentary` addressed `to=functions.NAME` is a
call (the recipient may also stand before the channel), `final` is the answer, a `commentary`
message to nobody is a preamble (content). A completion that stops inside analysis, or inside a
call's JSON, is a truncated step."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import ArgumentError
from tooltune.formats.reasoning import join_reasoning
from tooltune.formats.tool_parsers.common import ToolParser, complete_json, make_call

_MESSAGE_END = re.compile(r"<\|(?:end|call|return)\|>")
_CHANNEL = re.compile(r"<\|channel\|>\s*(\w+)")
_RECIPIENT = re.compile(r"\bto=([\w.\-]+)")


def _messages(text: str) -> list[tuple[str, str, bool]]:
    """(header, body, ended) for each message; text outside harmony tokens is a final body."""
    out = []
    for chunk in re.split(r"<\|start\|>", text):
        if not chunk.strip():
            continue
        head, sep, body = chunk.partition("<|message|>")
        if not sep:  # plain text (a final answer), or a header cut off before <|message|>
            out.append((head, "", False) if "<|channel|>" in head else ("", head, True))
            continue
        end = _MESSAGE_END.search(body)
        out.append((head, body[: end.start()] if end else body, end is not None))
    return out


def parse(text: str, tools: list[dict[str, Any]]) -> Parsed:
    reasoning, content, calls = [], [], []
    messages = _messages(text)
    for i, (head, body, ended) in enumerate(messages):
        channel = _CHANNEL.search(head)
        kind = channel.group(1).lower() if channel else ("final" if not head.strip() else "")
        recipient = _RECIPIENT.search(head)
        if not kind and not recipient:
            return Parsed("invalid", error=f"harmony header without a channel, cut off? {head[-40:]!r}")
        if recipient and recipient.group(1) != "assistant":
            name = recipient.group(1).removeprefix("functions.")
            if not ended and not body.strip():
                return Parsed("invalid", error=f"the call to {name} is cut off before its arguments")
            try:
                args = complete_json(body) if body.strip() else {}
            except ArgumentError as exc:
                return Parsed("invalid", error=f"arguments of {name}: {exc}")
            calls.append(make_call(name, args, tools))
        elif kind == "analysis":
            if not ended and i == len(messages) - 1:
                return Parsed("invalid", error="the completion ended inside its analysis channel: a truncated step",
                              reasoning=body.strip() or None)
            reasoning.append(body)
        else:  # final, or a commentary preamble
            content.append(body.strip())
    thought = join_reasoning(*reasoning)
    text_out = "\n\n".join(c for c in content if c) or None
    for call in calls:
        if isinstance(call, str):
            return Parsed("invalid", error=call, reasoning=thought)
    if calls:
        return Parsed("tool_calls", calls=calls, content=text_out, thought=text_out, reasoning=thought)
    if text_out is None:
        return Parsed("invalid", error="no final message (empty or cut off)", reasoning=thought)
    return Parsed("final", content=text_out, reasoning=thought)


PARSER = ToolParser("gpt-oss", parse, ("<|channel|>", "<|message|>"), ("<|channel|>",))
