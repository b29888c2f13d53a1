"""Mistral: `[TOOL_CALLS][{"name": …, "arguments": {…}, "id": …}]` (v3 tokenizers: Mistral 7B
v0.3, Nemo, Small 3) and the newer `[TOOL_CALLS]name[ARGS]{…}` (v11+: Small 3.2, Magistral,
Devstral; `[CALL_ID]id` may sit between; some checkpoints drop `[ARGS]`: `[TOOL_CALLS]name{…}`),
one `[TOOL_CALLS]` per call. Text before the first
`[TOOL_CALLS]` is content. There is no end marker (`</s>` ends the turn), so a call is complete
when its JSON is: arguments whose brackets or strings never close are a truncated call, and a
`[TOOL_CALLS]` written inside a JSON string is text."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import MAX_DEPTH, ArgumentError, loads_lenient, nesting_depth, strip_end_markers
from tooltune.formats.scan import partial_marker_at_end, scan
from tooltune.formats.tool_parsers.common import ToolParser, make_call, result

_MARK = "[TOOL_CALLS]"
_NAMED = re.compile(r"\s*([\w.\-]+)\s*(?:\[CALL_ID\]\s*([\w\-]*)\s*)?(?:\[ARGS\]|(?=\{))", re.S)  # `name{…}` too
_GAP = re.compile(r"\s*")
_NAME_SO_FAR = re.compile(r"\s*+[\w.\-]*+\s*+(?:\[[A-Z_]*+\]?\s*+[\w\-]*+\s*+)*+(?:\[[A-Z_]*+)?\s*+")  # possessive: linear


def parse(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    body = strip_end_markers(text)
    if _MARK not in body:
        return result([], body)
    before, _, after = body.partition(_MARK)
    if nesting_depth(after) > MAX_DEPTH:
        return Parsed("invalid", error=f"[TOOL_CALLS] arguments nested more than {MAX_DEPTH} levels deep")
    calls: list[Any] = []
    truncated: list[str] = []
    pos = 0
    while pos < len(after):
        named = _NAMED.match(after, pos)
        start = _GAP.match(after, named.end() if named else pos).end()  # type: ignore[union-attr]
        what = named.group(1) if named else "[TOOL_CALLS]"
        if start >= len(after) or after[start] not in "{[":
            if named and start >= len(after):  # `name[ARGS]` and nothing after it
                truncated.append(f"{what}: cut off before its arguments")
            elif _NAME_SO_FAR.fullmatch(after, pos):  # the text ends inside `name[ARGS]`
                truncated.append("cut off inside `name[ARGS]`")
            elif after[pos:].strip():
                return Parsed("invalid", error=f"[TOOL_CALLS] expected name[ARGS]{{…}} or a JSON list, got {after[pos:].strip()[:40]!r}",
                              truncated=truncated)
            break
        value = scan(after, start, until_closed=True)
        if value.how != "closed":
            truncated.append(f"{what}: cut off before the end of its JSON")
            break
        try:
            calls += _calls(named.group(1) if named else None, after[start:value.end], tools)
        except ArgumentError as exc:
            return Parsed("invalid", error=f"[TOOL_CALLS] {exc}", truncated=truncated)
        pos = _GAP.match(after, value.end).end()  # type: ignore[union-attr]
        if after.startswith(_MARK, pos):
            pos += len(_MARK)
            if not after[pos:].strip():
                truncated.append("cut off right after [TOOL_CALLS]")
        elif after[pos:].strip():
            if partial_marker_at_end(after[pos:], _MARK, 1) and _MARK.startswith(after[pos:].strip()):
                truncated.append("cut off inside [TOOL_CALLS]")
            break  # text after the calls
    if not calls and not truncated:
        truncated.append("cut off right after [TOOL_CALLS]")
    return result(calls, before, truncated)


def _calls(name: str | None, raw: str, tools: list[dict[str, Any]]) -> list[Any]:
    """`name[ARGS]{…}` is one call; a bare JSON value is v3's list of {"name", "arguments"}."""
    value = loads_lenient(raw)
    if name is not None:
        return [make_call(name, value, tools)]
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        raise ArgumentError("must be a JSON list of {\"name\", \"arguments\"} objects")
    return [make_call(i["name"], i.get("arguments", i.get("parameters", {})), tools) for i in items]


PARSER = ToolParser("mistral", parse, (("[TOOL_CALLS]",),), ("[TOOL_CALLS]",))
