"""Gemma function calls, three syntaxes.

Gemma 4 writes one block per call; strings sit between `<|"|>` tokens, other values are bare
(numbers, booleans, null, nested objects and lists); it thinks in a `<|channel>thought … <channel|>`
channel before the answer or the call (split off as reasoning before this parser runs):

    <|tool_call>call:get_weather{city:<|"|>Paris<|"|>,days:3,opts:{metric:true}}<tool_call|>

(some checkpoints close with `<turn|>` instead of `<tool_call|>`, or drop `<|tool_call>` and write a
bare `call:NAME{…}`, read unless strict, complete when its braces close). FunctionGemma (Gemma 3 270M)
writes the same shape with `<escape>` as the string token:

    <start_function_call>call:get_weather{city:<escape>Paris<escape>,days:3}<end_function_call>

Gemma 3 instruct models prompted for tools write Python calls in a `tool_code` block, or JSON
`{"name": …, "parameters": …}`; both are read too. A block's end is looked for outside its
strings; a block whose end marker never came is a truncated call, never run."""

from __future__ import annotations

import json
import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import ArgumentError, cut_off_report, loads_lenient, resolve_tool_name, tool_names
from tooltune.formats.scan import find_blocks, scan
from tooltune.formats.tool_parsers import hermes
from tooltune.formats.tool_parsers.common import ToolParser, make_call, pythonic_with_cut_off, result


class _Syntax:
    """One block syntax: its markers and its string token."""

    def __init__(self, open_: str, close: str, close_name: str, quote: str) -> None:
        self.open = re.compile(re.escape(open_))
        self.close = close
        self.close_name = close_name
        self.quote = quote
        self.strings = re.escape(quote) + ".*?" + re.escape(quote)


GEMMA4 = _Syntax("<|tool_call>", r"<tool_call\|>|<turn\|>", "<tool_call|>", '<|"|>')
FUNCTIONGEMMA = _Syntax("<start_function_call>", "<end_function_call>", "<end_function_call>", "<escape>")
_HEAD = re.compile(r"\s*:?\s*(?:call\s*:)?\s*([\w.\-]+)\s*", re.S)  # `<|tool_call>:call:` has a stray colon
# Gemma 4 sometimes drops `<|tool_call>`: a bare `call:NAME{…}` (or `<call>NAME{…}`), read when not strict.
_BARE = re.compile(r"(?:<call>|(?<![\w:])call:)\s*([\w.\-]+)\s*(?=\{)")
_KEY = re.compile(r"([{,]\s*)([A-Za-z_][\w\-.]*)\s*:")
_TOOL_CODE = re.compile(r"```tool_code\s*\n(.*?)(```|$)", re.S)
_TURN_END = re.compile(r"<end_of_turn>|<start_function_response>|<\|tool_response>")


def parse(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    text = _TURN_END.split(text)[0]
    for syntax in (GEMMA4, FUNCTIONGEMMA):
        if syntax.open.search(text):
            return _function_calls(text, syntax, tools)
    text = text.split("<turn|>")[0]  # Gemma 4's end of turn, once no call can be closed by it
    code = _TOOL_CODE.search(text)
    if code:
        calls, truncated = pythonic_with_cut_off(code.group(1), tools)
        if not code.group(2):  # the fence never closed: only calls before a reported cut stand
            return result(calls if truncated and calls else [], text[: code.start()],
                          truncated or ["the tool_code block is cut off before its closing ```"])
        if calls is not None:
            return result(calls, text[: code.start()] + text[code.end():], truncated)
    names = tool_names(tools)
    if not strict and any(resolve_tool_name(m.group(1), names) for m in _BARE.finditer(text)):
        return _bare_calls(text, tools)
    return hermes.parse(text, tools, strict)


def _bare_calls(text: str, tools: list[dict[str, Any]]) -> Parsed:
    """Bare Gemma 4 calls: no end marker, so a call is complete when its braces close. Only a
    known tool's name makes one (an answer may well say `call:something{…}`)."""
    calls, truncated, outside, pos = [], [], [], 0
    names = tool_names(tools)
    for head in _BARE.finditer(text):
        if head.start() < pos or resolve_tool_name(head.group(1), names) is None:
            continue  # inside the previous call's arguments, or not a tool
        value = scan(text, head.end(), until_closed=True, strings=GEMMA4.strings, openers=re.escape(GEMMA4.quote))
        outside.append(text[pos:head.start()])
        pos = value.end
        if value.how != "closed":
            truncated.append(cut_off_report(head.group(1), "cut off before its arguments close"))
            break
        try:
            calls.append(make_call(head.group(1), arguments(text[head.end():value.end], GEMMA4.quote), tools))
        except ArgumentError as exc:
            calls.append(f"arguments of {head.group(1)}: {exc}")
    outside.append(text[pos:])
    return result(calls, "".join(outside), truncated)


def _function_calls(text: str, syntax: _Syntax, tools: list[dict[str, Any]]) -> Parsed:
    blocks = find_blocks(text, syntax.open, syntax.close, syntax.open.pattern,
                         complete=lambda body: not _cut_off(body, syntax), strings=syntax.strings, openers=re.escape(syntax.quote))
    calls, truncated, outside, pos = [], [], [], 0
    for block in blocks:
        outside.append(text[pos:block.start])
        pos = block.end
        head = _HEAD.match(block.body)
        name = head.group(1) if head else ""
        if not block.closed:
            truncated.append(cut_off_report(name, f"cut off before {syntax.close_name}"))
            continue
        if head is None:
            return Parsed("invalid", error=f"expected call:NAME{{…}}, got {block.body[:40]!r}", truncated=truncated)
        try:
            calls.append(make_call(name, arguments(block.body[head.end():], syntax.quote), tools))
        except ArgumentError as exc:
            calls.append(f"arguments of {name}: {exc}")
    outside.append(text[pos:])
    return result(calls, "".join(outside), truncated)


def _cut_off(body: str, syntax: _Syntax) -> bool:
    return scan(body, 0, brackets=True, strings=syntax.strings, openers=re.escape(syntax.quote)).cut_off


def arguments(body: str, quote: str) -> Any:
    """`{city:<|"|>Paris<|"|>,days:3}` as JSON: strings (between the quote tokens) are JSON-quoted
    first, so keys are only quoted in the structure around them."""
    body = body.strip()
    if not body:
        return {}
    pieces = body.split(quote)
    if len(pieces) % 2 == 0:
        raise ArgumentError(f"a {quote} string never closes")
    out = [json.dumps(piece, ensure_ascii=False) if i % 2 else _KEY.sub(r'\1"\2":', piece) for i, piece in enumerate(pieces)]
    return loads_lenient("".join(out))


PARSER = ToolParser("gemma", parse, (("<start_of_turn>",), ("<|turn>",), ("<|tool_call>",)),
                    ("<|tool_call>", "<start_function_call>", "```tool_code", "<|channel>"))
