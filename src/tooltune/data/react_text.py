"""ReAct scratchpads as plain text, both ways, for the text-only dataset formats.

ms_agent, AgentFabric and alpaca-style exports carry a whole assistant turn as one string
(`Thought / Action / Action Input / Observation … Final Answer`) and the tools inside the system
prompt. `render_scratchpad` writes canonical assistant + tool messages as such a string;
`parse_scratchpad` reads one back (tolerating AgentFabric's `<result>` wrappers and `Answer:`, and
Chinese keywords). The layout is the ReAct format's own (`formats/react_layout.py`): each Action
is followed by its Observation; Actions with no Thought between them are one parallel step (older
exports that put all Observations after the Actions read the same), and a Thought starts the
next step. Call ids are numbered per sample so that importing the same text twice gives the same
canonical sample.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.formats.react_layout import DEFAULT_THOUGHTS, TEXT, keywords, scratchpad_text
from tooltune.formats.parsing import ArgumentError, decode_arguments, resolve_tool_name, tool_names, tool_params
from tooltune.messages import Message, ToolCall

_RESULT = re.compile(r"^\s*<result>(.*?)</result>(.*)$", re.S)


class CallCounter:
    """Deterministic call ids (call_1, call_2, …) within one sample."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"call_{self.n}"


def render_scratchpad(messages: list[Message], final_keyword: str = TEXT.final_keyword, result_tags: bool = False,
                      thought_keyword: bool = True) -> str:
    """The assistant/tool messages of one turn as ReAct text (Observations included), in the
    layout the ReAct prompt format trains on (`react_layout`)."""
    dialect = replace(TEXT, final_keyword=final_keyword, result_tags=result_tags, thought_keyword=thought_keyword)
    return scratchpad_text(messages, dialect=dialect)


class _Builder:
    """Collects steps while walking the keywords of one scratchpad."""

    def __init__(self, tools: list[dict[str, Any]], ids: CallCounter) -> None:
        self.tools, self.ids = tools, ids
        self.out: list[Message] = []
        self.thought: str | None = None
        self.step: Message | None = None
        self.answered = 0
        self._results: dict[str, Message] = {}

    def flush(self) -> None:
        if self.step is not None:
            self.out.append(self.step)
            calls = self.step.tool_calls
            self.out.extend(self._results.pop(c.id) for c in calls if c.id in self._results)
        self.step, self.answered, self._results = None, 0, {}

    def set_thought(self, text: str) -> None:
        if self.step is not None:
            self.flush()
        text = text.strip()
        self.thought = None if text.lower().rstrip(".。") in DEFAULT_THOUGHTS or not text else text

    def action(self, name: str) -> None:
        # No flush here: Actions with no Thought between them are one (parallel) step, each
        # followed by its own Observation (or, in older exports, all Observations after them).
        if self.step is None:
            self.step = Message("assistant", None, reasoning_content=self.thought)
            self._results, self.thought = {}, None
        resolved = resolve_tool_name(name, tool_names(self.tools)) if self.tools else None
        self.step.tool_calls.append(ToolCall(resolved or name.strip(), {}, self.ids.next()))

    def action_input(self, raw: str) -> None:
        if self.step is None or not self.step.tool_calls:
            raise TooltuneError("'Action Input:' without an 'Action:' before it")
        call = self.step.tool_calls[-1]
        try:
            call.arguments = decode_arguments(raw.strip(), tool_params(self.tools, call.name))
        except ArgumentError as exc:
            raise TooltuneError(f"Action Input for {call.name} is not JSON: {exc}") from None

    def observation(self, text: str) -> str:
        """Attach the result to the next unanswered call; returns text that followed `</result>`."""
        if self.step is None or self.answered >= len(self.step.tool_calls):
            raise TooltuneError("'Observation:' without an 'Action:' waiting for it")
        rest = ""
        match = _RESULT.match(text)
        if match:
            text, rest = match.group(1), match.group(2)
        call = self.step.tool_calls[self.answered]
        self._results[call.id] = Message("tool", text.strip(), tool_call_id=call.id, name=call.name)
        self.answered += 1
        return rest

    def final(self, text: str) -> None:
        self.flush()
        self.out.append(Message("assistant", text.strip(), reasoning_content=self.thought))
        self.thought = None


def parse_scratchpad(text: str, tools: list[dict[str, Any]], ids: CallCounter) -> list[Message]:
    """One assistant turn of ReAct text -> canonical assistant (+ tool) messages."""
    matches = keywords(text, line_start=True)
    if not matches:
        return [Message("assistant", text.strip())]
    b = _Builder(tools, ids)
    lead = text[: matches[0].start].strip()
    if lead:
        b.set_thought(lead)
    for i, m in enumerate(matches):
        body = text[m.end : matches[i + 1].start if i + 1 < len(matches) else len(text)]
        kind = m.kind
        if kind == "thought":
            b.set_thought(body)
        elif kind == "action":
            b.action(body.strip().split("\n", 1)[0])
        elif kind == "action input":
            b.action_input(body)
        elif kind == "observation":
            rest = b.observation(body)
            if rest.strip():
                b.set_thought(rest)
        else:  # final answer / answer
            b.final(body)
    if b.step is not None:
        b.flush()
    elif b.thought and not (b.out and b.out[-1].role == "assistant"):
        b.out.append(Message("assistant", b.thought))
    return b.out
