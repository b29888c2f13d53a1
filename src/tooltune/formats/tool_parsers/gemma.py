"""Gemma function calls.

FunctionGemma (Gemma 3 270M) writes, one block per call, strings between `<escape>` tokens:

    <start_function_call>call:get_weather{city:<escape>Paris<escape>,days:3}<end_function_call>

Gemma 3 instruct models prompted for tools write Python calls in a `tool_code` block, or JSON
`{"name": …, "parameters": …}`; both are read too."""

from __future__ import annotations

import json
import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.jsoncall import parse_tool_call_text
from tooltune.formats.parsing import ArgumentError
from tooltune.formats.tool_parsers.common import ToolParser, complete_json, make_call, pythonic_calls, result

_BLOCK = re.compile(r"<start_function_call>(.*?)(<end_function_call>|(?=<start_function_call>)|$)", re.S)
_HEAD = re.compile(r"\s*(?:call:)?\s*([\w.\-]+)\s*", re.S)
_KEY = re.compile(r"([{,]\s*)([A-Za-z_][\w\-]*)\s*:")
_TOOL_CODE = re.compile(r"```tool_code\s*\n(.*?)(```|$)", re.S)
_ESCAPE = "<escape>"


def parse(text: str, tools: list[dict[str, Any]]) -> Parsed:
    text = text.split("<end_of_turn>")[0].split("<start_function_response>")[0]
    if "<start_function_call>" in text:
        return _function_calls(text, tools)
    code = _TOOL_CODE.search(text)
    if code:
        calls = pythonic_calls(code.group(1), tools)
        if calls is not None:
            return result(calls, text[: code.start()] + text[code.end():])
        if not code.group(2):
            return Parsed("invalid", error="a tool_code block is cut off before its closing ```")
    return parse_tool_call_text(text, tools)


def _function_calls(text: str, tools: list[dict[str, Any]]) -> Parsed:
    calls, outside, pos = [], [], 0
    for match in _BLOCK.finditer(text):
        outside.append(text[pos:match.start()])
        pos = match.end()
        if not match.group(2) and match.end() == len(text):
            return Parsed("invalid", error="a <start_function_call> block is cut off before <end_function_call>")
        head = _HEAD.match(match.group(1))
        if head is None:
            return Parsed("invalid", error=f"expected call:NAME{{…}}, got {match.group(1)[:40]!r}")
        try:
            args = _arguments(match.group(1)[head.end():])
        except ArgumentError as exc:
            return Parsed("invalid", error=f"arguments of {head.group(1)}: {exc}")
        calls.append(make_call(head.group(1), args, tools))
    outside.append(text[pos:])
    return result(calls, "".join(outside))


def _arguments(body: str) -> Any:
    """`{city:<escape>Paris<escape>,days:3}` as JSON: strings (between <escape>) are quoted
    first, so keys are only quoted in the structure around them."""
    body = body.strip()
    if not body:
        return {}
    pieces = body.split(_ESCAPE)
    if len(pieces) % 2 == 0:
        raise ArgumentError("an <escape> string never closes (cut off?)")
    out = []
    for i, piece in enumerate(pieces):
        out.append(json.dumps(piece, ensure_ascii=False) if i % 2 else _KEY.sub(r'\1"\2":', piece))
    return complete_json("".join(out))


PARSER = ToolParser("gemma", parse, ("<start_of_turn>",), ("<start_function_call>", "```tool_code"))
