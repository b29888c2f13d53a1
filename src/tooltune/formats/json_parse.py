"""Reading the json format's calls back: `<tool_call>` blocks, found JSON-aware, their JSON
decoded leniently, and the untagged calls Llama/Mistral-style models write.

The layout itself is `json_layout`'s. This module and everything it imports use only the
standard library (the repair and fuzzy-matching libraries are optional in `parsing`): the
exported vLLM plugin carries them verbatim, so vLLM reads a call exactly as tooltune does.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tooltune.formats import json_layout as layout
from tooltune.formats.base import Parsed
from tooltune.formats.parsing import (
    ArgumentError, cut_off_report, decode_arguments, loads_lenient, resolve_tool_name, strip_end_markers, tool_names, tool_params,
    unknown_tool_error,
)
from tooltune.formats.reasoning import parse_with_reasoning
from tooltune.formats.scan import Block, find_blocks, json_values, partial_marker_at_end, scan
from tooltune.messages import ToolCall
from tooltune.toolspec import function_of

_OPEN = re.compile(layout.CALL_OPEN_PATTERN)
_CLOSE = layout.CALL_CLOSE_PATTERN
_NAME = re.compile(r"""["']name["']\s*:\s*["']([^"'\n]{1,80})""")
_LOOKS_LIKE_CALL = re.compile(r"""\[?\s*\{\s*["']?(?:name|function)\b""")
_FENCED = re.compile(r"```(?:json|tool_call|python)?\s*\n?(.*?)```", re.S)
_PREFIXES = ("[TOOL_CALLS]", "<|python_tag|>", "<function_call>", "functools")


def calls_from_object(obj: Any, tools: list[dict[str, Any]]) -> list[ToolCall] | str:
    """Decode one parsed JSON value (a call, a list of calls, OpenAI shape) or return an error."""
    items = obj if isinstance(obj, list) else [obj]
    if not items:
        return "an empty list is no tool call: write {\"name\": …, \"arguments\": {…}}"
    calls = []
    for item in items:
        if not isinstance(item, dict):
            return f"a tool call must be a JSON object with 'name' and 'arguments', got {json.dumps(item)[:60]}"
        item = function_of(item)
        raw_name = item.get("name")
        if not isinstance(raw_name, str):
            return "a tool call needs a 'name'"
        name = resolve_tool_name(raw_name, tool_names(tools))
        if name is None:
            return unknown_tool_error(raw_name, tools)
        raw_args = next((item[k] for k in ("arguments", "parameters", "args", "input") if k in item), {})
        try:
            calls.append(ToolCall(name, decode_arguments(raw_args, tool_params(tools, name))))
        except ArgumentError as exc:
            return f"arguments for {name}: {exc}"
    return calls


def tool_call_blocks(text: str) -> list[Block]:
    """Each `<tool_call>` block, its end found outside the JSON's strings (a `</tool_call>` in an
    argument is text). A block that runs into the next `<tool_call>` counts as closed only when
    its JSON is complete; one that runs to the end of the text was cut off. A completion that
    starts with a bare JSON value is searched after it (its strings may name the tags)."""
    lead = len(text) - len(text.lstrip())
    start = 0
    if text[lead:lead + 1] in ("{", "["):
        value = scan(text, lead, until_closed=True)
        start = value.end if value.how == "closed" else len(text)
    return find_blocks(text, _OPEN, _CLOSE, _OPEN.pattern, start=start)


def cut_off_call(body: str, what: str) -> str:
    """How a cut-off call is reported: its tool name when the model got that far."""
    name = _NAME.search(body)
    return cut_off_report(name.group(1) if name else None, what)


def parse_tool_call_text(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    """Shared by the JSON and native formats: tagged blocks first, then a bare/fenced JSON call
    (not with `strict`: then text without a `<tool_call>` block is the answer, so bare JSON in a
    normal answer is never taken for a call). A block whose `</tool_call>` never came is reported
    as truncated, not repaired into a call; inside a closed block, repair (quotes, commas, Python
    literals, a missing brace) stays."""
    text = strip_end_markers(text.replace("\r\n", "\n"))
    blocks = tool_call_blocks(text)
    truncated = [cut_off_call(b.body, f"the {layout.CALL_OPEN} block is cut off before {layout.CALL_CLOSE}") for b in blocks if not b.closed]
    if partial_marker_at_end(text, layout.CALL_OPEN) and (not blocks or blocks[-1].closed):
        truncated.append(f"the completion ends inside a {layout.CALL_OPEN} tag")
    if blocks:
        calls: list[ToolCall] = []
        for block in blocks:
            if not block.closed:
                continue
            try:
                obj = loads_lenient(block.body)
            except ArgumentError as exc:
                return Parsed("invalid", error=f"{layout.CALL_OPEN} block is {exc}", truncated=truncated)
            got = calls_from_object(obj, tools)
            if isinstance(got, str):
                return Parsed("invalid", error=got, truncated=truncated)
            calls.extend(got)
        return Parsed.calls_or_cut_off(calls, truncated, thought=text[: blocks[0].start].strip() or None)
    untagged = None if strict else _untagged_call(text, tools)
    if untagged is not None:
        return untagged
    if truncated:
        return Parsed.calls_or_cut_off([], truncated)
    if not text:
        return Parsed("invalid", error="empty completion")
    return Parsed("final", content=text)


def _untagged_call(text: str, tools: list[dict[str, Any]]) -> Parsed | None:
    """Llama/Mistral-style calls without tags: JSON objects (or lists; several separated by `;`)
    naming a known tool, or one fenced block. One cut off (its brackets or a string never close)
    is reported, not repaired."""
    body = text
    for prefix in _PREFIXES:
        if body.lstrip().startswith(prefix):
            body = body.lstrip()[len(prefix):]
    fenced = _FENCED.search(body)
    candidates = [([fenced.group(1)], fenced.start(), [])] if fenced else []
    start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
    if start >= 0:
        values, cut = _bare_values(body, start)
        if values or cut:
            candidates.append((values, start, cut))
    for values, pos, cut in candidates:
        try:
            decoded = [loads_lenient(v) for v in values]
        except ArgumentError:
            continue
        obj: Any = decoded[0] if len(decoded) == 1 else [i for v in decoded for i in (v if isinstance(v, list) else [v])]
        first = obj[0] if isinstance(obj, list) and obj else obj
        if cut and not decoded:
            return Parsed.calls_or_cut_off([], cut)
        if not (isinstance(first, dict) and isinstance(function_of(first).get("name"), str)):
            continue
        if not ({"arguments", "parameters", "args", "function"} & set(first)):
            continue
        got = calls_from_object(obj, tools)
        if isinstance(got, str):
            return Parsed("invalid", error=got, truncated=cut)
        return Parsed.calls_or_cut_off(got, cut, thought=body[:pos].strip() or None)
    return None


def _bare_values(body: str, pos: int) -> tuple[list[str], list[str]]:
    """The complete JSON values from `pos` on, and the report of a call-shaped one the text
    ends inside."""
    values, end, cut = json_values(body, pos)
    if cut and _LOOKS_LIKE_CALL.match(body, end):
        return values, [cut_off_call(body[end:], "its JSON is cut off before the end")]
    return values, []


def parse_json_calls(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    """A json-format completion: a leading reasoning block split off, then its calls or answer."""
    return parse_with_reasoning(text, lambda rest: parse_tool_call_text(rest, tools, strict))

