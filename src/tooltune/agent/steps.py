"""Agent steps and events, each a small dataclass; a step knows its canonical messages.

A trajectory *is* its canonical messages: editing a step means editing a message, and resuming
means handing the agent a prefix of them. Steps and events are the streamed, human-readable view.

Every step shares `AgentStep`: its messages, how long it took and the tokens it cost (as
smolagents' steps do), so a run's cost can be read step by step without a profiler.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from tooltune.errors import TooltuneError
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


@dataclass(frozen=True)
class TokenUsage:
    """Tokens one step cost, summed over its completions (format retries included)."""

    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def of(cls, completions: list[Any]) -> TokenUsage | None:
        """The summed counts of `completions` (llm.base.Completion), or None when the backend
        reported none (an OpenAI-compatible server that sends no usage reports 0 and 0)."""
        prompt = sum(c.prompt_tokens for c in completions)
        completion = sum(c.completion_tokens for c in completions)
        return cls(prompt, completion) if prompt or completion else None


@dataclass(kw_only=True)
class AgentStep:
    """What every step has: its canonical messages, its wall time in seconds (generation with
    every format retry, then its tool calls; None where a batch generated it, as corpus rollout
    and evaluation do, and one step's share of the batch is unknown) and its token usage (None
    where the backend reports no counts)."""

    seconds: float | None = None
    usage: TokenUsage | None = None

    def to_messages(self) -> list[Message]:
        raise NotImplementedError


@dataclass
class ActionStep(AgentStep):
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
class FinalAnswerStep(AgentStep):
    thought: str | None
    answer: str
    raw: str = ""
    strict: bool = True

    def to_messages(self) -> list[Message]:
        return [Message("assistant", self.answer, reasoning_content=self.thought)]


@dataclass
class FormatErrorStep(AgentStep):
    """A completion that could not be parsed even after the bounded retries (`truncated`: the
    calls it was cut off inside, when that is why)."""

    raw: str
    error: str
    truncated: list[str] = field(default_factory=list)

    def to_messages(self) -> list[Message]:
        return []  # never part of the canonical trajectory


Step = ActionStep | FinalAnswerStep | FormatErrorStep


class Status(StrEnum):
    """How a run ended (or that it has not). A str enum: it compares equal to, prints as and
    serialises to the same strings as before it was an enum."""

    RUNNING = "running"
    FINAL = "final"  # a final answer
    MAX_STEPS = "max_steps"
    FORMAT_ERROR = "format_error"  # no parseable completion after the bounded retries
    STOPPED = "stopped"  # cancelled
    LOOP = "loop"  # more identical repeated calls than allowed
    CONTEXT_OVERFLOW = "context_overflow"  # the prompt does not fit even after fitting
    PLAN_INCOMPLETE = "plan_incomplete"  # planning: the reflection says the task is not done
    PLAN_LIMIT = "plan_limit"  # planning: a step, retry or re-plan limit ended it


@dataclass
class Trajectory:
    """Canonical messages + tools, how the run ended, and its events (for display and audit)."""

    messages: list[Message]
    tools: list[dict[str, Any]]
    status: Status = Status.RUNNING
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        try:
            self.status = Status(self.status)
        except ValueError:
            raise TooltuneError(f"unknown trajectory status {self.status!r}: use one of {', '.join(Status)}") from None

    @property
    def final_answer(self) -> str | None:
        last = self.messages[-1] if self.messages else None
        if self.status == Status.FINAL and last and last.role == "assistant" and not last.tool_calls:
            return last.content
        return None

    def sample(self) -> Sample:
        return Sample(list(self.messages), list(self.tools))

    def to_json(self) -> dict[str, Any]:
        events = [asdict(e) for e in self.events if e.kind != "token"]
        return {**self.sample().to_openai(), "status": self.status.value, "events": events}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trajectory:
        sample = Sample.from_openai(data)
        events = [Event(**e) for e in data.get("events", [])]
        return cls(sample.messages, sample.tools, data.get("status", "running"), events)

    def save(self, path: str | Path) -> None:
        import json

        write_text_atomic(path, json.dumps(self.to_json(), ensure_ascii=False, indent=2))
