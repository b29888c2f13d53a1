"""Hermes / Qwen2.5 / Qwen3 (non-coder): `<tool_call>{"name": …, "arguments": {…}}</tool_call>`.

The JSON format's own parser (formats/jsoncall.py), which also reads untagged JSON calls, so a
model whose family is unknown still gets the most tolerant reading.
"""

from tooltune.formats.jsoncall import parse_tool_call_text
from tooltune.formats.tool_parsers.common import ToolParser

PARSER = ToolParser("hermes", parse_tool_call_text, (("<tool_call>",),), ("<tool_call>",))
