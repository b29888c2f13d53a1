"""Llama 3.1 / 3.2 / 3.3 / 4: a bare JSON call `{"name": …, "parameters": {…}}` (optionally after
`<|python_tag|>`, several separated by `;`), Llama 3.2's Python list `[f(a=1), g(b=2)]`, and the
built-in tools' `<|python_tag|>brave_search.call(query="…")`, and Llama 4's
`<|python_start|>[f(a=1)]<|python_end|>`. With `strict`, only a tagged call is a call. A message that is not a call is
the answer. A call the text ends inside (its JSON or Python call never closes) is reported as
truncated, never run; the complete calls before it stand. A `<|python_tag|>` written inside a
JSON string is text."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import ArgumentError, cut_off_report, loads_lenient, strip_end_markers
from tooltune.formats.scan import json_values
from tooltune.formats.tool_parsers.common import ToolParser, make_call, pythonic_with_cut_off, result

_TAG = "<|python_tag|>"
_TAGS = re.compile(r"<\|python_tag\|>|<\|python_start\|>")  # Llama 4 wraps its Python calls in start/end
_PYTHON_END = "<|python_end|>"
_LLAMA4_END = re.compile(r"<\|eo[tm]\|>")


def parse(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    body = strip_end_markers(_LLAMA4_END.sub("<|eot_id|>", text.replace("<|eom_id|>", "<|eot_id|>")))
    found = _TAGS.search(body)
    first_json = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=len(body))
    tagged = found is not None and found.start() < first_json  # a tag written inside a JSON string is text
    if strict and not tagged:  # only a tagged call is a call
        return result([], body)
    before, call_text = (body[:found.start()], body[found.end():]) if tagged and found else ("", body)  # type: ignore[union-attr]
    call_text = call_text.strip().removesuffix(_PYTHON_END).strip()
    if call_text.startswith("{") or (call_text.startswith("[") and call_text[1:].lstrip().startswith("{")):
        values, end, cut = json_values(call_text, 0)
        try:
            items = [v for raw in values for value in [loads_lenient(raw)] for v in (value if isinstance(value, list) else [value])]
        except ArgumentError as exc:
            return Parsed("invalid", error=f"tool call JSON is {exc}")
        truncated = [cut_off_report(_name(call_text[end:]), "cut off before the end of its JSON")] if cut else []
        if all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items) and (items or cut):
            calls = [make_call(i["name"], next((i[k] for k in ("parameters", "arguments") if k in i), {}), tools) for i in items]
            return result(calls, before + ("" if cut else call_text[end:]), truncated)
    calls, truncated = pythonic_with_cut_off(call_text, tools)
    if calls is not None:
        return result(calls, before, truncated)
    return result([], _TAGS.sub("", body))


def _name(text: str) -> str:
    """The name of a cut-off JSON call, when it got written."""
    found = re.search(r'"name"\s*:\s*"([^"\n]{1,80})"', text)
    return found.group(1) if found else ""


PARSER = ToolParser("llama3", parse, (("<|start_header_id|>", "ipython"), ("<|header_start|>", "ipython")),
                    ("<|python_tag|>", "<|python_start|>"))
