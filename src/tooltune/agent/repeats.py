"""Repeated identical calls: small tuned models often call the same tool with the same arguments
again and again instead of answering. The agent answers a repeat with a short note holding the
earlier result (so the model has what it needs), counts repeats, and stops with status `loop`
past a limit.

Repeats are read from the canonical messages themselves, so the agent loop, the batched rollout
and the evaluation's free run all see the same count. The index is built incrementally: a step
costs the same at step 20 as at step 1.
"""

from __future__ import annotations

import json

from tooltune.lang import lang_or_en
from tooltune.messages import Message, ToolCall
from tooltune.prompts import fill


def call_key(call: ToolCall) -> str:
    return call.name + "\x00" + json.dumps(call.arguments, sort_keys=True, ensure_ascii=False, default=str)


def repeat_note(call: ToolCall, output: str, lang: str = "en") -> str:
    return fill("repeat_note", lang_or_en(lang), name=call.name, output=output)  # tooltune/prompts/repeat_note_LANG.txt


class CallIndex:
    """Earlier calls of one conversation (key -> result text) and how many calls repeated one.

    `update(messages)` reads only messages it has not seen; if the list is a different one or its
    seen part changed (an edit, a resumed prefix), it starts over."""

    def __init__(self) -> None:
        self._source: list[Message] | None = None
        self._count = 0  # messages of _source already read
        self._last: Message | None = None  # the last of them, to notice an edited prefix
        self.results: dict[str, str] = {}
        self.repeats = 0
        self._pending: dict[str, str] = {}  # call id -> key, waiting for its tool message

    def update(self, messages: list[Message]) -> CallIndex:
        n = self._count
        if messages is not self._source or len(messages) < n or (n and messages[n - 1] is not self._last):
            self.__init__()  # type: ignore[misc]
            self._source, n = messages, 0
        for msg in messages[n:]:
            self._read(msg)
        self._count, self._last = len(messages), (messages[-1] if messages else None)
        return self

    def _read(self, msg: Message) -> None:
        if msg.role == "assistant":
            for call in msg.tool_calls:
                key = call_key(call)
                if key in self.results or key in self._pending.values():
                    self.repeats += 1
                self._pending[call.id] = key
        elif msg.role == "tool" and msg.tool_call_id in self._pending:
            key = self._pending.pop(msg.tool_call_id)
            self.results.setdefault(key, msg.text)

