"""What every prompt format shares: segments, turns, the parse result and the format interface.

A format turns canonical messages into plain chat *turns* whose text is made of *segments*,
each flagged `train` (the model writes it) or not (the prompt, tool descriptions, observations).
The same turns feed the agent's prompt and the training labels, so what a model is trained on is
exactly what it is later asked to continue.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from tooltune.formats import json_layout
from tooltune.messages import Message, ToolCall


@dataclass
class Segment:
    text: str
    train: bool = False


@dataclass
class Turn:
    """One plain chat turn. `extra` carries structured fields (tool_calls…) for native templates."""

    role: str
    segments: list[Segment] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)

    def to_chat(self) -> dict[str, Any]:
        return {"role": self.role, "content": self.text, **self.extra}


@dataclass
class Rendered:
    """Turns ready for a chat template. `open_last` means the last (assistant) turn is unfinished
    and generation continues it (ReAct after an observation) instead of starting a new turn."""

    turns: list[Turn]
    tools: list[dict[str, Any]] | None = None
    open_last: bool = False


@dataclass
class Parsed:
    """A completion parsed back to the canonical form.

    `thought` is the format's own reasoning (a ReAct `Thought:`, the text before a `<tool_call>`);
    `reasoning` is everything that belongs in the assistant message's `reasoning_content`: a
    `<think>` block (or a family's analysis channel) followed by that thought.

    `truncated` names each call the completion was cut off inside (its JSON, or its block's end
    marker, never came): such a call is never returned in `calls` and never run. The complete
    calls beside it still are (kind "tool_calls"); with none, the kind is "invalid"."""

    kind: Literal["tool_calls", "final", "invalid"]
    calls: list[ToolCall] = field(default_factory=list)
    content: str | None = None
    thought: str | None = None
    error: str | None = None
    strict: bool = True  # False when accepted leniently (plain text taken as the final answer)
    reasoning: str | None = None
    truncated: list[str] = field(default_factory=list)

    @classmethod
    def calls_or_cut_off(cls, calls: list[ToolCall], truncated: list[str], **fields: Any) -> Parsed:
        """The complete calls (if any) with the cut-off ones reported beside them."""
        if calls:
            return cls("tool_calls", calls=calls, truncated=truncated, **fields)
        fields.pop("content", None)
        fields.pop("thought", None)
        return cls("invalid", error=f"{truncated[0]} (a truncated call, not run)", truncated=truncated, **fields)

    def to_json(self) -> dict[str, Any]:
        if self.kind == "tool_calls":
            out: dict[str, Any] = {"kind": "tool_calls", "calls": [{"name": c.name, "arguments": c.arguments} for c in self.calls]}
            if self.content:  # native families: text beside the calls is content
                out["content"] = self.content
        elif self.kind == "final":
            out = {"kind": "final", "content": self.content}
        else:
            out = {"kind": "invalid", "error": self.error}
        if self.truncated:
            out["truncated"] = list(self.truncated)
        if self.reasoning:
            out["reasoning"] = self.reasoning
        return out


class PromptFormat(ABC):
    """Render canonical messages to turns, and parse a completion back."""

    name: str = ""
    stop: list[str] = []
    # How this format writes a call, by formats.grammar's name for it ("json", "react"); None
    # when calls cannot be constrained.
    call_syntax: str | None = None
    # Generation stops after each call (ReAct, at `Observation:`), so a parallel step of k calls
    # takes k completions: evaluation asks for them one at a time, as training rendered them.
    one_call_per_completion: bool = False
    # The model's own chat template renders the tools: a server is sent OpenAI messages + tools
    # (GenerationRequest.native), not the format's text.
    native: bool = False

    def __init__(self, lang: str = "en", tool_role: str = "user") -> None:
        self.lang = lang
        self.tool_role = tool_role

    @abstractmethod
    def render(self, messages: list[Message], tools: list[dict[str, Any]]) -> Rendered:
        """Render a conversation. If it ends in a user/tool message, generation starts a new
        assistant turn; a ReAct format may instead return `open_last=True`."""

    @abstractmethod
    def parse(self, text: str, tools: list[dict[str, Any]]) -> Parsed:
        """Parse one completion; never raises for model output, returns kind='invalid' instead."""

    def forced_call_prefix(self, name: str | None = None) -> str:
        """The opening of a tool call in this format's syntax, which a server prefills when
        tool_choice forces a call; with `name`, up to where the arguments begin. This default is
        the json format's `<tool_call>` block, also what a native model is steered with."""
        return json_layout.forced_call_prefix(name)
