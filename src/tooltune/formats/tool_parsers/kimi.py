"""Kimi K2 (Moonshot): calls inside a section, each with an id `functions.NAME:INDEX`:

    <|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0
    <|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>

The singular `<|tool_call_section_begin|>` some checkpoints write is read too; K2-Thinking's
`<think>…</think>` is split off before this parser runs."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import ArgumentError
from tooltune.formats.tool_parsers.common import ToolParser, complete_json, make_call, result

_SECTION = re.compile(r"<\|tool_calls?_section_begin\|>(.*?)(<\|tool_calls?_section_end\|>|$)", re.S)
_CALL = re.compile(r"<\|tool_call_begin\|>(.*?)<\|tool_call_argument_begin\|>(.*?)(<\|tool_call_end\|>|(?=<\|tool_call_begin\|>)|$)", re.S)
_ID = re.compile(r"^\s*(?:functions\.)?(.+?)(?::\d+)?\s*$", re.S)


def parse(text: str, tools: list[dict[str, Any]]) -> Parsed:
    section = _SECTION.search(text)
    if section is None:
        return result([], text)
    calls = []
    for match in _CALL.finditer(section.group(1)):
        name = _ID.match(match.group(1)).group(1) if _ID.match(match.group(1)) else match.group(1)
        try:
            value = complete_json(match.group(2)) if match.group(2).strip() else {}
        except ArgumentError as exc:
            return Parsed("invalid", error=f"arguments of {name}: {exc}")
        calls.append(make_call(name, value, tools))
    if not calls:
        return Parsed("invalid", error="tool calls section with no complete call (cut off?)")
    return result(calls, text[:section.start()] + text[section.end():])


PARSER = ToolParser("kimi", parse, ("<|tool_calls_section_begin|>",), ("tool_calls_section_begin", "tool_call_section_begin"))
