"""Mistral: `[TOOL_CALLS][{"name": …, "arguments": {…}, "id": …}]` (v3 tokenizers: Mistral 7B
v0.3, Nemo, Small 3) and the newer `[TOOL_CALLS]name[ARGS]{…}` (v11+: Small 3.2, Magistral,
Devstral; `[CALL_ID]id` may sit between), one `[TOOL_CALLS]` per call. Text before the first
`[TOOL_CALLS]` is content."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import MAX_DEPTH, ArgumentError, nesting_depth, strip_end_markers
from tooltune.formats.tool_parsers.common import ToolParser, complete_json, make_call, result

_MARK = "[TOOL_CALLS]"
_NAMED = re.compile(r"\s*([\w.\-]+)\s*(?:\[CALL_ID\]\s*([\w\-]*)\s*)?\[ARGS\]", re.S)


def parse(text: str, tools: list[dict[str, Any]]) -> Parsed:
    body = strip_end_markers(text)
    if _MARK not in body:
        return result([], body)
    before, _, after = body.partition(_MARK)
    if nesting_depth(after) > MAX_DEPTH:
        return Parsed("invalid", error=f"[TOOL_CALLS] arguments nested more than {MAX_DEPTH} levels deep")
    try:
        calls = _named_calls(after, tools) if _NAMED.match(after) else _json_calls(after, tools)
    except ArgumentError as exc:
        return Parsed("invalid", error=f"[TOOL_CALLS] {exc}")
    if not calls:
        return Parsed("invalid", error="[TOOL_CALLS] with no call after it (cut off?)")
    return result(calls, before)


def _json_calls(text: str, tools: list[dict[str, Any]]) -> list[Any]:
    value = complete_json(text.replace(_MARK, ""))
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        raise ArgumentError("must be a JSON list of {\"name\", \"arguments\"} objects")
    return [make_call(i["name"], i.get("arguments", i.get("parameters", {})), tools) for i in items]


def _named_calls(text: str, tools: list[dict[str, Any]]) -> list[Any]:
    calls = []
    for chunk in text.split(_MARK):
        match = _NAMED.match(chunk)
        if not match:
            if chunk.strip():
                raise ArgumentError(f"expected name[ARGS]{{…}}, got {chunk.strip()[:40]!r}")
            continue
        args = chunk[match.end():].strip()
        calls.append(make_call(match.group(1), complete_json(args) if args else {}, tools))
    return calls


PARSER = ToolParser("mistral", parse, ("[TOOL_CALLS]",), ("[TOOL_CALLS]",))
