"""Llama 3.1 / 3.2 / 3.3: a bare JSON call `{"name": …, "parameters": {…}}` (optionally after
`<|python_tag|>`, several separated by `;`), Llama 3.2's Python list `[f(a=1), g(b=2)]`, and the
built-in tools' `<|python_tag|>brave_search.call(query="…")`. A message that is not a call is
the answer; a call cut off mid-JSON is invalid."""

from __future__ import annotations

from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import ArgumentError, strip_end_markers
from tooltune.formats.tool_parsers.common import ToolParser, json_objects, make_call, pythonic_calls, result

_TAG = "<|python_tag|>"


def parse(text: str, tools: list[dict[str, Any]]) -> Parsed:
    body = strip_end_markers(text.replace("<|eom_id|>", "<|eot_id|>"))
    tagged = _TAG in body
    before, _, call_text = body.partition(_TAG) if tagged else ("", "", body)
    call_text = call_text.strip()
    if call_text.startswith("{") or (call_text.startswith("[") and call_text[1:].lstrip().startswith("{")):
        try:
            values, rest = json_objects(call_text)
        except ArgumentError as exc:
            return Parsed("invalid", error=f"tool call JSON is {exc}")
        items = [v for value in values for v in (value if isinstance(value, list) else [value])]
        if items and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
            calls = [make_call(i["name"], next((i[k] for k in ("parameters", "arguments") if k in i), {}), tools) for i in items]
            return result(calls, before + rest)
    calls = pythonic_calls(call_text, tools)
    if calls is not None:
        return result(calls, before)
    return result([], body.replace(_TAG, ""))


PARSER = ToolParser("llama3", parse, ("<|start_header_id|>", "ipython"), ("<|python_tag|>",))
