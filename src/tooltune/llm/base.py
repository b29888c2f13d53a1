"""The backend interface: a rendered conversation in, a completion (streamed) out."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tooltune.errors import BackendError
from tooltune.formats.base import PromptFormat, Rendered
from tooltune.formats.grammar import ToolConstraint, constraint_for
from tooltune.messages import Message, ToolCall

OnText = Callable[[str], None]


@dataclass
class GenerationRequest:
    """Everything a backend may need: the format's turns (text backends render these) and the
    canonical messages + tools (servers that do their own tool templating use these)."""

    rendered: Rendered
    messages: list[Message] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    native: bool = False
    stop: list[str] = field(default_factory=list)
    max_tokens: int = 512
    temperature: float = 0.0
    cancel: threading.Event | None = None  # set it to stop generating mid-completion
    # Tool calls held to the offered tools' schemas (formats.grammar); local backends enforce
    # it (tooltune.llm.constrain), servers ignore it. None: free decoding.
    constraint: ToolConstraint | None = None

    @classmethod
    def for_format(cls, fmt: PromptFormat, rendered: Rendered, messages: list[Message], tools: list[dict[str, Any]], *,
                   max_tokens: int, temperature: float = 0.0, extra_stop: Sequence[str] = (), constrain: bool = True,
                   choice: str = "auto", forced_name: str | None = None, prefix: str = "",
                   cancel: threading.Event | None = None) -> GenerationRequest:
        """The one way a prompt in `fmt` becomes a request (the agent's steps and the server's
        replies): the format's stop strings first, then the caller's; the tool-call constraint for
        `choice` (OpenAI's `tool_choice`; "function" forces `forced_name`) after the prefilled
        `prefix`, or none when `constrain` is off."""
        return cls(
            rendered=rendered, messages=list(messages), tools=tools, native=fmt.native,
            stop=list(dict.fromkeys([*fmt.stop, *extra_stop])), max_tokens=max_tokens, temperature=temperature, cancel=cancel,
            constraint=constraint_for(fmt, tools, choice, forced_name, prefix) if constrain else None,
        )


@dataclass
class Completion:
    text: str
    tool_calls: list[ToolCall] | None = None  # structured calls from a server's own parser
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLM(ABC):
    """A language model backend. `complete` streams text through `on_text` while generating."""

    name: str = "llm"

    @abstractmethod
    def complete(self, request: GenerationRequest, on_text: OnText | None = None) -> Completion: ...

    def complete_batch(self, requests: list[GenerationRequest]) -> list[Completion]:
        """Backends that can batch override this; the default runs requests one after another."""
        return [self.complete(r) for r in requests]

    def complete_each(self, requests: list[GenerationRequest]) -> list[Completion | BackendError]:
        """Like `complete_batch`, but a request whose backend failed yields its `BackendError`
        instead of raising, so callers (the eval) can leave exactly those items unscored."""
        try:
            return list(self.complete_batch(requests))
        except BackendError as exc:
            if len(requests) == 1:
                return [exc]
        outcomes: list[Completion | BackendError] = []
        for request in requests:  # find which requests failed
            try:
                outcomes.append(self.complete(request))
            except BackendError as exc:
                outcomes.append(exc)
        return outcomes


def cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """Cut `text` at the earliest stop string; the stop string itself is dropped."""
    hits = [text.find(s) for s in stop if s and s in text]
    if not hits:
        return text, False
    return text[: min(hits)], True
