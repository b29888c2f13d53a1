"""Qwen3-Coder (and Qwen3.5) XML calls:

    <tool_call>
    <function=get_weather>
    <parameter=city>
    Paris
    </parameter>
    </function>
    </tool_call>

Parameter values are text; they are typed by the tool's JSON Schema (integers, booleans, JSON
objects…). The function's end is looked for outside its parameter values (a `</function>` or
`</tool_call>` written in a value is text). A `<function=…>` that never closes, or a
`<tool_call>` whose `</tool_call>` never came at the end of the text, is a truncated call;
a forgotten `</parameter>` or `</function>` before more output is tolerated."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import cut_off_report
from tooltune.formats.scan import find_blocks, partial_marker_at_end
from tooltune.formats.tool_parsers.common import ToolParser, make_call, result, typed_arguments

_FUNCTION = re.compile(r"<function=([^>\n]*)>")
_PARAM = re.compile(r"<parameter=([^>\n]*)>(.*?)(?:</parameter>|(?=<parameter=)|$)", re.S)
_WRAPPER = re.compile(r"</?tool_call>")
_OPEN_WRAPPER = re.compile(r"<tool_call>\s*$")
_VALUES = r"<parameter=[^>\n]*>.*?</parameter>"


def parse(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    blocks = find_blocks(text, _FUNCTION, "</function>", f"{_FUNCTION.pattern}|</tool_call>",
                         complete=lambda body: True, strings=_VALUES, openers="(?!)")
    calls, truncated, outside, pos = [], [], [], 0
    for block in blocks:
        outside.append(text[pos:block.start])
        pos = block.end
        name = _FUNCTION.match(text, block.start).group(1).strip()  # type: ignore[union-attr]
        wrapped = _OPEN_WRAPPER.search(text, 0, block.start) is not None
        if not block.closed or (wrapped and _unclosed_wrapper(text, block.end)):
            truncated.append(cut_off_report(name, f"cut off before {'</function>' if not block.closed else '</tool_call>'}"))
            continue
        pairs = [(p.group(1).strip(), _strip_one_newline(p.group(2))) for p in _PARAM.finditer(block.body)]
        calls.append(make_call(name, typed_arguments(pairs, name, tools), tools))
    tail = text[pos:]
    opened = tail.rfind("<tool_call>")
    if (opened >= 0 and "</tool_call>" not in tail[opened:]) or partial_marker_at_end(tail, "<tool_call>"):
        truncated.append("cut off inside a <tool_call> block, before its <function=…>")
    outside.append(tail)
    return result(calls, _WRAPPER.sub("", "".join(outside)), truncated)


def _unclosed_wrapper(text: str, end: int) -> bool:
    """True when the text ends after `</function>` without the `</tool_call>` that follows it."""
    rest = text[end:].strip()
    return "</tool_call>"[: len(rest)] == rest if len(rest) < len("</tool_call>") else False


def _strip_one_newline(value: str) -> str:
    """The template writes `\\n` after `>` and before `</parameter>`; anything else is the value."""
    value = value[1:] if value.startswith("\n") else value
    return value[:-1] if value.endswith("\n") else value


PARSER = ToolParser("qwen3-xml", parse, (("<function=", "<parameter="),), ("<function=",))
