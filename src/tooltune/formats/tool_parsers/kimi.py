"""Kimi (Moonshot), two syntaxes.

K2: calls inside a section, each with an id `functions.NAME:INDEX` and JSON arguments:

    <|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0
    <|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_calls_section_end|>

The singular `<|tool_call_section_begin|>` some checkpoints write is read too; an empty section
means "no call". K2-Thinking's `<think>…</think>` is split off before this parser runs.

K3 (XTML): channels built from `<|open|>NAME<|sep|> … <|close|>NAME<|sep|>`; the answer is the
`response` channel (its opening is often the generation prompt, so only its close appears),
calls are the `tools` channel, reasoning the `think` channel (split off like `<think>`):

    Let me check.<|close|>response<|sep|><|open|>tools<|sep|>
    <|open|>call tool="get_weather" index="1"<|sep|>
    <|open|>argument key="city" type="string"<|sep|>Paris<|close|>argument<|sep|>
    <|open|>argument key="days" type="number"<|sep|>3<|close|>argument<|sep|>
    <|close|>call<|sep|><|close|>tools<|sep|>

`type="string"` values are raw text, other types JSON; attribute values are HTML-escaped. A call
whose end marker never came, or a section/channel left open, is reported as truncated."""

from __future__ import annotations

import html
import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import ArgumentError, cut_off_report, loads_lenient
from tooltune.formats.scan import find_blocks
from tooltune.formats.tool_parsers.common import ToolParser, decode_block, make_call, result

_SECTION = re.compile(r"<\|tool_calls?_section_begin\|>")
_SECTION_END = re.compile(r"<\|tool_calls?_section_end\|>")
_CALL = re.compile(r"<\|tool_call_begin\|>")
_CALL_END = r"<\|tool_call_end\|>"
_ARG = re.compile(r"<\|tool_call_argument_begin\|>")
_ID = re.compile(r"^\s*(?:functions\.)?(.+?)(?::\d+)?\s*$", re.S)


def _x(word: str, close: bool = False) -> str:
    return (r"<\|close\|>" if close else r"<\|open\|>") + rf"\s*{word}\b" + (r"\s*" if close else r"((?:(?!<\|sep\|>)[^\n]){0,500}?)") + r"<\|sep\|>"


_TOOLS, _TOOLS_END = re.compile(_x("tools")), re.compile(_x("tools", True))
_K3_CALL, _K3_CALL_END = re.compile(_x("call")), _x("call", True)
_K3_ARG, _K3_ARG_END = re.compile(_x("argument")), re.compile(_x("argument", True))
_RESPONSE, _RESPONSE_END = re.compile(_x("response")), re.compile(_x("response", True))
_MESSAGE_END = re.compile(_x("message", True))
_ATTR = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


def parse(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    if _TOOLS.search(text) or _RESPONSE.search(text) or _RESPONSE_END.search(text):
        return _k3(text, tools)
    section = _SECTION.search(text)
    if section is None:
        return result([], text)
    blocks = find_blocks(text[section.end():], _CALL, _CALL_END, f"{_CALL.pattern}|{_SECTION_END.pattern}")
    calls, truncated = [], []
    for block in blocks:
        arg = _ARG.search(block.body)
        head = block.body[:arg.start()] if arg else block.body
        name = _ID.match(head).group(1) if _ID.match(head) else head.strip()  # type: ignore[union-attr]
        if not block.closed or arg is None:
            truncated.append(cut_off_report(name, "cut off before <|tool_call_end|>"))
            continue
        calls.append(decode_block(name, block.body[arg.end():], tools))
    end = section.end() + (blocks[-1].end if blocks else 0)
    close = _SECTION_END.search(text, end)
    if close is None and not truncated:
        truncated.append("the tool-calls section is cut off before <|tool_calls_section_end|>")
    return result(calls, text[:section.start()] + (text[close.end():] if close else ""), truncated)


def _k3(text: str, tools: list[dict[str, Any]]) -> Parsed:
    channel = _TOOLS.search(text)
    if channel is None:
        return result([], _response(text))
    inside = text[channel.end():]
    blocks = find_blocks(inside, _K3_CALL, _K3_CALL_END, f"{_K3_CALL.pattern}|{_TOOLS_END.pattern}",
                         complete=lambda body: True, strings=_K3_ARG.pattern + r".*?" + _K3_ARG_END.pattern,
                         openers=_K3_ARG.pattern)
    calls, truncated = [], []
    for block in blocks:
        attrs = _attrs(_K3_CALL.match(inside, block.start).group(1))  # type: ignore[union-attr]
        name = attrs.get("tool", "")
        if not block.closed:
            truncated.append(cut_off_report(name, "cut off before <|close|>call<|sep|>"))
            continue
        try:
            calls.append(make_call(name, _k3_arguments(block.body), tools))
        except ArgumentError as exc:
            calls.append(f"arguments of {name}: {exc}")
    close = _TOOLS_END.search(inside, blocks[-1].end if blocks else 0)
    if close is None and not truncated:
        truncated.append("the tools channel is cut off before <|close|>tools<|sep|>")
    return result(calls, _response(text[:channel.start()]), truncated)


def _k3_arguments(body: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for start in _K3_ARG.finditer(body):
        end = _K3_ARG_END.search(body, start.end())
        if end is None:
            raise ArgumentError("an argument never closes")
        attrs = _attrs(start.group(1))
        raw = body[start.end():end.start()]
        if attrs.get("type", "string") == "string":
            args[attrs.get("key", "")] = raw
        else:
            try:
                args[attrs.get("key", "")] = loads_lenient(raw)
            except ArgumentError:
                args[attrs.get("key", "")] = raw
    return args


def _attrs(text: str) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in _ATTR.findall(text)}


def _response(text: str) -> str:
    """The `response` channel's text, its markers removed (the opening may be the prompt's)."""
    opened = _RESPONSE.search(text)
    if opened is not None:
        close = _RESPONSE_END.search(text, opened.end())
        text = text[opened.end():close.start() if close else len(text)]
    else:
        text = _RESPONSE_END.sub("", text)
    return _MESSAGE_END.sub("", text)


PARSER = ToolParser("kimi", parse, (("<|tool_calls_section_begin|>",), ("<|open|>", "<|sep|>")),
                    ("tool_calls_section_begin", "tool_call_section_begin", "<|open|>tools", "<|close|>response"))

