"""gpt-oss (OpenAI harmony format): the completion is a series of messages on channels:

    <|channel|>analysis<|message|>reasoning…<|end|>
    <|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>
    <|start|>assistant<|channel|>final<|message|>The answer.<|return|>

`analysis` is reasoning (→ reasoning_content), `commentary` addressed `to=functions.NAME` is a
call (the recipient may also stand before the channel), `final` is the answer, a `commentary`
message to nobody is a preamble (content). A completion that stops inside analysis is a
truncated step; `<|call|>` often ends generation (a stop token) so a call's end is its JSON's:
arguments the text ends inside are a truncated call, never run. A call's end markers written
inside its JSON strings are text."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import ArgumentError, loads_lenient
from tooltune.formats.reasoning import join_reasoning
from tooltune.formats.scan import json_cut_off, scan
from tooltune.formats.tool_parsers.common import ToolParser, make_call

_START = "<|start|>"
_MESSAGE = "<|message|>"
_BOUNDARY = r"<\|(?:end|call|return|start)\|>"
_BOUNDARY_RE = re.compile(_BOUNDARY)
_CHANNEL = re.compile(r"<\|channel\|>\s*(\w+)")
_RECIPIENT = re.compile(r"\bto=([\w.\-]+)")


def _is_call(head: str) -> bool:
    recipient = _RECIPIENT.search(head)
    return recipient is not None and recipient.group(1) != "assistant"


def _messages(text: str) -> list[tuple[str, str, bool]]:
    """(header, body, ended) for each message; text outside harmony tokens is a final body.
    A call's body ends at the first end marker outside its JSON strings."""
    out: list[tuple[str, str, bool]] = []
    pos = 0
    while pos < len(text):
        if text.startswith(_START, pos):
            pos += len(_START)
            continue
        msg, nxt = text.find(_MESSAGE, pos), text.find(_START, pos)
        if msg < 0 or 0 <= nxt < msg:  # plain text (a final answer), or a header cut off before <|message|>
            head = text[pos: nxt if nxt >= 0 else len(text)]
            if head.strip():
                out.append((head, "", False) if "<|channel|>" in head else ("", head, True))
            if nxt < 0:
                break
            pos = nxt
            continue
        head, body_start = text[pos:msg], msg + len(_MESSAGE)
        found = scan(text, body_start, _BOUNDARY) if _is_call(head) else None
        end = found.match if found is not None else _BOUNDARY_RE.search(text, body_start)
        if end is None:
            out.append((head, text[body_start:], False))
            break
        ended = end.group() != _START
        out.append((head, text[body_start:end.start()], ended))
        pos = end.end() if ended else end.start()
    return out


def parse(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    reasoning, content, calls, truncated = [], [], [], []
    messages = _messages(text)
    for i, (head, body, ended) in enumerate(messages):
        channel = _CHANNEL.search(head)
        kind = channel.group(1).lower() if channel else ("final" if not head.strip() else "")
        recipient = _RECIPIENT.search(head)
        if not kind and not recipient:
            return Parsed("invalid", error=f"harmony header without a channel, cut off? {head[-40:]!r}")
        if recipient and recipient.group(1) != "assistant":
            name = recipient.group(1).removeprefix("functions.")
            if not ended and (not body.strip() or json_cut_off(body.strip())):
                truncated.append(f"{name}: cut off before the end of its arguments")
                continue
            try:
                args = loads_lenient(body) if body.strip() else {}
            except ArgumentError as exc:
                return Parsed("invalid", error=f"arguments of {name}: {exc}", truncated=truncated)
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
            return Parsed("invalid", error=call, reasoning=thought, truncated=truncated)
    if calls or truncated:
        return Parsed.calls_or_cut_off(calls, truncated, content=text_out, thought=text_out, reasoning=thought)
    if text_out is None:
        return Parsed("invalid", error="no final message (empty or cut off)", reasoning=thought)
    return Parsed("final", content=text_out, reasoning=thought)


PARSER = ToolParser("gpt-oss", parse, (("<|channel|>", "<|message|>"),), ("<|channel|>",))
