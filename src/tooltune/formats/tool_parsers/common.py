"""What every family parser shares: building calls against the tool schemas, JSON decoding of a
closed block (repaired if need be; a cut-off call is reported as truncated, never repaired into
a guess), schema-typed XML values, Python-style calls, and the result in the canonical `Parsed`
shape.

Family parsers only locate calls in their own syntax; decoding, name resolution and repair come
from `formats/parsing.py`, the same tolerant pieces the hermes/JSON and ReAct parsers use.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import (
    MAX_DEPTH, ArgumentError, cut_off_report, decode_arguments, loads_lenient, nesting_depth, resolve_tool_name,
    strip_end_markers, strip_fences, to_jsonable, tool_names, tool_params, unknown_tool_error,
)
from tooltune.formats.scan import json_cut_off, scan
from tooltune.messages import ToolCall

_PY_HEAD = re.compile(r"\s*([A-Za-z_][\w.]*)\s*\(")
_COMMA = re.compile(r"\s*,?\s*")
ParseFn = Callable[..., Parsed]  # (text, tools, strict=False): strict reads only tagged call blocks


@dataclass(frozen=True)
class ToolParser:
    """One family: its parser, what identifies its chat template (every marker of one of the
    `template_markers` groups present: a family's generations differ) and what identifies one
    of its completions (any `completion_markers` present)."""

    name: str
    parse: ParseFn
    template_markers: tuple[tuple[str, ...], ...]
    completion_markers: tuple[str, ...] = ()

    def matches_template(self, text: str) -> bool:
        return any(all(marker in text for marker in group) for group in self.template_markers)


class Truncated(ArgumentError):
    """A call cut off before its end: the step is invalid, never guessed."""


def complete_json(text: str) -> Any:
    """Decode JSON written by a model; Python literals and small repairs (trailing commas,
    full-width quotes) are fine, but output cut off mid-value raises Truncated."""
    text = text.strip()
    if text.startswith(("{", "[")) and json_cut_off(text):
        raise Truncated(f"cut off before the end of its JSON: {text[-40:]!r}")
    return loads_lenient(text)


def make_call(raw_name: str, raw_args: Any, tools: list[dict[str, Any]]) -> ToolCall | str:
    """A ToolCall for a known tool with decoded arguments, or an error message."""
    name = resolve_tool_name(raw_name, tool_names(tools))
    if name is None:
        return unknown_tool_error(raw_name, tools)
    try:
        return ToolCall(name, decode_arguments(raw_args, tool_params(tools, name)))
    except ArgumentError as exc:
        return f"arguments for {name}: {exc}"


def result(calls: list[ToolCall | str], around: str, truncated: list[str] | None = None) -> Parsed:
    """Calls (or the first error among them) plus the text around them, which is content; the
    calls the completion was cut off inside are reported (`Parsed.truncated`), never returned."""
    truncated = list(truncated or [])
    for call in calls:
        if isinstance(call, str):
            return Parsed("invalid", error=call, truncated=truncated)
    around = strip_end_markers(around)
    if calls:
        return Parsed("tool_calls", calls=list(calls), content=around or None, thought=around or None, truncated=truncated)  # type: ignore[arg-type]
    if truncated:
        return Parsed.calls_or_cut_off([], truncated)
    if not around:
        return Parsed("invalid", error="empty completion")
    return Parsed("final", content=around)


def decode_block(name: str, body: str, tools: list[dict[str, Any]]) -> ToolCall | str:
    """A closed block's JSON arguments (repaired if need be: the block did end) as a call."""
    try:
        args = loads_lenient(strip_fences(body)) if body.strip() else {}
    except ArgumentError as exc:
        return f"arguments of {name.strip()}: {exc}"
    return make_call(name.strip(), args, tools)


def typed_value(raw: str, schema: dict[str, Any] | None) -> Any:
    """An XML parameter (always text) as the type its JSON Schema asks for; text stays text
    when it does not fit (the tool then reports the mismatch, as it would for any bad value)."""
    types = _schema_types(schema or {})
    text = raw.strip()
    if "string" in types or (not types and not _looks_like_json(text)):
        return raw
    for kind in types or ["json"]:
        try:
            if kind == "integer":
                return int(text)
            if kind == "number":
                return float(text) if any(c in text for c in ".eE") else int(text)
            if kind == "boolean" and text.lower() in ("true", "false"):
                return text.lower() == "true"
            if kind == "null" and text.lower() in ("null", "none"):
                return None
            if kind in ("object", "array", "json"):
                return complete_json(text)
        except (ValueError, ArgumentError):
            continue
    return raw


def _schema_types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    if isinstance(kind, str):
        return [kind]
    options = schema.get("anyOf") or schema.get("oneOf") or []
    return [t for o in options if isinstance(o, dict) for t in _schema_types(o)]


def _looks_like_json(text: str) -> bool:
    return bool(re.fullmatch(r"-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null|[\[{].*", text, re.S))


def typed_arguments(pairs: list[tuple[str, str]], name: str, tools: list[dict[str, Any]]) -> dict[str, Any]:
    props = tool_params(tools, resolve_tool_name(name, tool_names(tools)) or name).get("properties", {})
    return {key: typed_value(value, props.get(key)) for key, value in pairs}


def pythonic_calls(text: str, tools: list[dict[str, Any]]) -> list[ToolCall | str] | None:
    """`[get_weather(city="Paris"), f(x=1)]` or `get_weather(city="Paris")` (Llama 3.2's and
    Gemma's tool_code style; `brave_search.call(query=…)` names `brave_search`). None when the
    text is not Python calls."""
    text = text.strip()
    if not text or nesting_depth(text) > MAX_DEPTH or not re.match(r"^\[?\s*[A-Za-z_][\w.]*\s*\(", text):
        return None
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    nodes = tree.elts if isinstance(tree, (ast.List, ast.Tuple)) else [tree]
    if not nodes or not all(isinstance(n, ast.Call) for n in nodes):
        return None
    calls: list[ToolCall | str] = []
    for node in nodes:
        name = _dotted(node.func)  # type: ignore[attr-defined]
        if name is None:
            return None
        try:
            kwargs = {k.arg: to_jsonable(ast.literal_eval(k.value)) for k in node.keywords if k.arg}  # type: ignore[attr-defined]
            positional = [to_jsonable(ast.literal_eval(a)) for a in node.args]  # type: ignore[attr-defined]
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            calls.append(f"arguments for {name} are not Python literals")
            continue
        raw: Any = kwargs or (positional[0] if len(positional) == 1 else {})
        calls.append(make_call(name.removesuffix(".call"), raw, tools))
    return calls


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def pythonic_with_cut_off(text: str, tools: list[dict[str, Any]]) -> tuple[list[ToolCall | str] | None, list[str]]:
    """`pythonic_calls`, and when the text ends inside a Python call: the complete calls of the
    list before it, with the cut-off one reported. (None, []) when it is not Python calls."""
    text = text.strip()
    calls = pythonic_calls(text, tools)
    if calls is not None or not _PY_HEAD.match(text.lstrip("[")) or not scan(text, 0, brackets=True).cut_off:
        return calls, []
    done, pos = [], 1 if text.startswith("[") else 0
    while pos and (head := _PY_HEAD.match(text, pos)) is not None:
        value = scan(text, head.end() - 1, until_closed=True)
        if value.how != "closed":
            break
        done.append(text[head.start():value.end])
        pos = _COMMA.match(text, value.end).end()  # type: ignore[union-attr]
    cut = _PY_HEAD.match(text, pos)
    report = cut_off_report(cut.group(1) if cut else None, "cut off before the end of its Python call")
    return (pythonic_calls("[" + ", ".join(done) + "]", tools) or []) if done else [], [report]
