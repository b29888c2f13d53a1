"""GLM-4.5 / 4.6 / 4.7 (Zhipu): one block per call, arguments as key/value tags:

    <tool_call>get_weather
    <arg_key>city</arg_key>
    <arg_value>Paris</arg_value>
    </tool_call>

Values are written as text for strings and as JSON otherwise; they are typed by the tool's
schema. GLM-4 (9B) writes `name\\n{json}` inside the block instead, which is read too. Thinking
(`<think>…</think>`) is split off before this parser runs."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import ArgumentError
from tooltune.formats.tool_parsers.common import ToolParser, complete_json, make_call, result, typed_arguments

_BLOCK = re.compile(r"<tool_call>(.*?)(</tool_call>|(?=<tool_call>)|$)", re.S)
_TURN_END = re.compile(r"<\|(?:user|observation|endoftext)\|>")
_PAIR = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)(?:</arg_value>|$)", re.S)


def parse(text: str, tools: list[dict[str, Any]]) -> Parsed:
    text = _TURN_END.split(text)[0]
    calls, outside, pos = [], [], 0
    for match in _BLOCK.finditer(text):
        outside.append(text[pos:match.start()])
        pos = match.end()
        body, closed = match.group(1), bool(match.group(2))
        if not closed and match.end() == len(text):
            return Parsed("invalid", error="a <tool_call> block is cut off before </tool_call>")
        name, _, rest = body.strip().partition("<arg_key>") if "<arg_key>" in body else body.strip().partition("\n")
        name = name.strip()
        if "<arg_key>" in body:
            args: Any = typed_arguments([(k.strip(), v) for k, v in _PAIR.findall("<arg_key>" + rest)], name, tools)
        else:
            try:
                args = complete_json(rest) if rest.strip() else {}
            except ArgumentError as exc:
                return Parsed("invalid", error=f"arguments of {name}: {exc}")
        calls.append(make_call(name, args, tools))
    outside.append(text[pos:])
    return result(calls, "".join(outside))


PARSER = ToolParser("glm", parse, ("<arg_key>",), ("<arg_key>",))
