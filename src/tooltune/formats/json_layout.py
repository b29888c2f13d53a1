"""The json format's call layout, written once: the tags and the bytes between them.

A call is `<tool_call>\\n{"name": …, "arguments": …}\\n</tool_call>` with `json.dumps`' own
separators, parallel calls are blocks joined by a newline after the thought, and a tool result
comes back as `<tool_response>\\n…\\n</tool_response>`. Everything that writes or reads that
layout builds it from here: the format's renderer and parser (`jsoncall.py`, `json_parse.py`),
the grammar that constrains decoding, the OpenAI backend's fold of tool messages, and the
exports (the Jinja and Go chat templates, the vLLM plugin). The `*_text` builders take
already-encoded JSON, so a template can pass its own expressions (`{{ f.name | tojson }}`) and get
the same bytes around them.

It imports nothing beyond the standard library: the exported vLLM plugin carries it verbatim.
"""

from __future__ import annotations

import json
from typing import Any

CALL_TAG = "tool_call"
RESPONSE_TAG = "tool_response"
CALL_OPEN = f"<{CALL_TAG}>"
CALL_CLOSE = f"</{CALL_TAG}>"
RESPONSE_OPEN = f"<{RESPONSE_TAG}>"
RESPONSE_CLOSE = f"</{RESPONSE_TAG}>"
SEPARATOR = "\n"  # between the thought and the first call, between calls, between tool results
CALL_HEAD = CALL_OPEN + "\n"  # a call block up to its JSON
CALL_TAIL = "\n" + CALL_CLOSE  # and after it
ITEM_SEPARATOR, KEY_SEPARATOR = ", ", ": "  # json.dumps' defaults: the spacing training renders
NAME_KEY = '{"name": '
ARGUMENTS_KEY = ', "arguments": '
# The tags as a reader accepts them: any case, spaces inside the brackets (`< tool_call >`).
CALL_OPEN_PATTERN = rf"(?i:<\s*{CALL_TAG}\s*>)"
CALL_CLOSE_PATTERN = rf"(?i:<\s*/\s*{CALL_TAG}\s*>)"


def dumps(value: Any) -> str:
    """JSON as the layout writes it (non-ASCII kept as is)."""
    return json.dumps(value, ensure_ascii=False)


def call_json_text(name_json: str, arguments_json: str) -> str:
    """`{"name": …, "arguments": …}` around encoded JSON: byte for byte `dumps({"name", "arguments"})`."""
    return NAME_KEY + name_json + ARGUMENTS_KEY + arguments_json + "}"


def call_block_text(name_json: str, arguments_json: str) -> str:
    return CALL_HEAD + call_json_text(name_json, arguments_json) + CALL_TAIL


def call_block(name: str, arguments: Any) -> str:
    """One call as the model writes it."""
    return call_block_text(dumps(name), dumps(arguments))


def assistant_text(thought: str | None, calls: list[tuple[str, Any]]) -> str:
    """An assistant turn that calls tools: the thought (if any), then one block per call."""
    return SEPARATOR.join(([thought] if thought else []) + [call_block(name, args) for name, args in calls])


def response_block(content: str) -> str:
    """One tool result as the model reads it."""
    return RESPONSE_OPEN + "\n" + content + "\n" + RESPONSE_CLOSE


def forced_call_prefix(name: str | None = None) -> str:
    """The opening of a call that a server prefills when `tool_choice` forces one; with `name`,
    up to where the arguments begin."""
    if name:
        return CALL_HEAD + NAME_KEY + dumps(name) + ARGUMENTS_KEY
    return CALL_HEAD + NAME_KEY + '"'
