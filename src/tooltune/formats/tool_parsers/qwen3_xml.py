"""Qwen3-Coder (and Qwen3.5) XML calls:

    <tool_call>
    <function=get_weather>
    <parameter=city>
    Paris
    </parameter>
    </function>
    </tool_call>

Parameter values are text; they are typed by the tool's JSON Schema (integers, booleans, JSON
objects…). A `<function=…>` or `<parameter=…>` that never closes is a cut-off (invalid) call."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.tool_parsers.common import ToolParser, make_call, result, typed_arguments

_FUNCTION = re.compile(r"<function=([^>\n]*)>(.*?)(</function>|(?=<function=)|$)", re.S)
_PARAM = re.compile(r"<parameter=([^>\n]*)>(.*?)(</parameter>|(?=<parameter=)|(?=</function>)|$)", re.S)
_WRAPPER = re.compile(r"</?tool_call>")


def parse(text: str, tools: list[dict[str, Any]]) -> Parsed:
    calls, outside, pos = [], [], 0
    for match in _FUNCTION.finditer(text):
        outside.append(text[pos:match.start()])
        pos = match.end()
        name, body, closed = match.group(1).strip(), match.group(2), bool(match.group(3))
        if "</tool_call>" in body and not closed:  # `</function>` forgotten, the block still ends
            body, _, tail = body.partition("</tool_call>")
            outside.append(tail)
        elif not closed and match.end() == len(text):
            return Parsed("invalid", error=f"<function={name}> is cut off before </function>")
        pairs = [(p.group(1).strip(), _strip_one_newline(p.group(2))) for p in _PARAM.finditer(body)]
        calls.append(make_call(name, typed_arguments(pairs, name, tools), tools))
    outside.append(text[pos:])
    return result(calls, _WRAPPER.sub("", "".join(outside)))


def _strip_one_newline(value: str) -> str:
    """The template writes `\\n` after `>` and before `</parameter>`; anything else is the value."""
    value = value[1:] if value.startswith("\n") else value
    return value[:-1] if value.endswith("\n") else value


PARSER = ToolParser("qwen3-xml", parse, ("<function=", "<parameter="), ("<function=",))
