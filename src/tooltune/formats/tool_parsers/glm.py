"""GLM-4.5 / 4.6 / 4.7 (Zhipu): one block per call, arguments as key/value tags:

    <tool_call>get_weather
    <arg_key>city</arg_key>
    <arg_value>Paris</arg_value>
    </tool_call>

Values are written as text for strings and as JSON otherwise; they are typed by the tool's
schema. GLM-4 (9B) writes `name\\n{json}` inside the block instead, which is read too. Thinking
(`<think>…</think>`) is split off before this parser runs. The block's end is looked for outside
its values; a block without `</tool_call>` at the end of the text is a truncated call."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import cut_off_report
from tooltune.formats.scan import JSON_STRING_OPENERS, JSON_STRINGS, find_blocks
from tooltune.formats.tool_parsers.common import ToolParser, decode_block, make_call, result, typed_arguments

_OPEN = re.compile(r"<tool_call>")
_TURN_END = re.compile(r"<\|(?:user|observation|endoftext)\|>")
_PAIR = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)</arg_value>", re.S)
# Values are text: a `</tool_call>` written inside one is part of the value.
_VALUES = r"<arg_value>.*?</arg_value>|" + JSON_STRINGS
_VALUE_OPENERS = r"<arg_value>|" + JSON_STRING_OPENERS


def parse(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    text = _TURN_END.split(text)[0]
    blocks = find_blocks(text, _OPEN, "</tool_call>", _OPEN.pattern, strings=_VALUES, openers=_VALUE_OPENERS)
    calls, truncated, outside, pos = [], [], [], 0
    for block in blocks:
        outside.append(text[pos:block.start])
        pos = block.end
        body = block.body
        name = (body.partition("<arg_key>")[0] if "<arg_key>" in body else body.strip().partition("\n")[0]).strip()
        if not block.closed:
            truncated.append(cut_off_report(name, "the <tool_call> block is cut off before </tool_call>"))
        elif "<arg_key>" in body:
            pairs = [(k.strip(), v) for k, v in _PAIR.findall(body)]
            calls.append(make_call(name, typed_arguments(pairs, name, tools), tools))
        else:  # GLM-4: name, newline, JSON
            calls.append(decode_block(name, body.strip().partition("\n")[2], tools))
    outside.append(text[pos:])
    return result(calls, "".join(outside), truncated)


PARSER = ToolParser("glm", parse, (("<arg_key>",),), ("<arg_key>",))
