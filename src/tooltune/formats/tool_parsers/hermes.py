"""Hermes / Qwen2.5 / Qwen3 (non-coder): `<tool_call>{"name": …, "arguments": {…}}</tool_call>`.

The JSON format's own parser (formats/jsoncall.py), which also reads untagged JSON calls (not
with `strict`), so a model whose family is unknown still gets the most tolerant reading. As for
every native family, text beside the calls is the message's content.
"""

from __future__ import annotations

from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.json_parse import parse_tool_call_text
from tooltune.formats.tool_parsers.common import ToolParser


def parse(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    parsed = parse_tool_call_text(text, tools, strict)
    if parsed.kind == "tool_calls" and parsed.thought:
        parsed.content = parsed.thought
    return parsed


PARSER = ToolParser("hermes", parse, (("<tool_call>",),), ("<tool_call>",))
