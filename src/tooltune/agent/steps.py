"""Agent steps and events, each a small dataclass; a step knows its canonical messages.

A trajectory *is* its canonical messages: editing a step means editing a message, and resuming
means handing the agent a prefix of them. Steps and events are the streamed, human-readable view.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from tooltune.messages import Message, Sample, ToolCall, write_text_atomic
from tooltune.tools.tool import ToolResult

EventKind = Literal[
    "token", "thought", "tool_call", "observation", "final_answer", "format_error", "stopped",
    "repeated_call", "loop", "context", "memory", "plan", "subtask", "reflection", "tools_selected",
    "truncated_call",
]


@dataclass
class Event:
    """One streamed thing that happened. `data` is JSON-friendly."""

    kind: EventKind
    data: dict[str, Any] = field(default_factory=dict)
    step: int = 0


@dataclass
class ActionStep:
    """The calls of one step and their results. `truncated` names the calls the completion was
    cut off inside (max_tokens, a broken stream): reported, never run, not in the messages."""

    thought: str | None
    calls: list[ToolCall]
    results: list[ToolResult] = field(default_factory=list)
    raw: str = ""
    truncated: list[str] = field(default_factory=list)

    def to_messages(self) -> list[Message]:
        msgs = [Message("assistant", None, tool_calls=list(self.calls), reasoning_content=self.thought)]
        by_id = {r.call_id: r for r in self.results}
        for call in self.calls:
            if call.id in by_id:
                msgs.append(Message("tool", by_id[call.id].output, tool_call_id=call.id, name=call.name))
        return msgs


@dataclass
class FinalAnswerStep:
    thought: str | None
    answer: str
    raw: str = ""
    strict: bool = True

    def to_messages(self) -> list[Message]:
        return [Message("assistant", self.answer, reasoning_content=self.thought)]


@dataclass
class FormatErrorStep:
    """A completion that could not be parsed even after the bounded retries (`truncated`: the
    calls it was cut off inside, when that is why)."""

    raw: str
    error: str
    truncated: list[str] = field(default_factory=list)

    def to_messages(self) -> list[Message]:
        return []  # never part of the canonical trajectory


Step = ActionStep | FinalAnswerStep | FormatErrorStep


@dataclass
class Trajectory:
    """Canonical messages + tools, how the run ended, and its events (for display and audit)."""

    messages: list[Message]
    tools: list[dict[str, Any]]
    status: str = "running"  # running | final | max_steps | format_error | stopped | loop
    events: list[Event] = field(default_factory=list)

    @property
    def final_answer(self) -> str | None:
        last = self.messages[-1] if self.messages else None
        if self.status == "final" and last and last.role == "assistant" and not last.tool_calls:
            return last.content
        return None

    def sample(self) -> Sample:
        return Sample(list(self.messages), list(self.tools))

    def to_json(self) -> dict[str, Any]:
        events = [asdict(e) for e in self.events if e.kind != "token"]
        return {**self.sample().to_openai(), "status": self.status, "events": events}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trajectory:
        sample = Sample.from_openai(data)
        events = [Event(**e) for e in data.get("events", [])]
        return cls(sample.messages, sample.tools, data.get("status", "running"), events)

    def save(self, path: str | Path) -> None:
        import json

        write_text_atomic(path, json.dumps(self.to_json(), ensure_ascii=False, indent=2))
