"""Short-term memory: fit one run's working context into the model's context window.

Policy (stated in every `context` event): keep the system prompt, the task (first user message)
and the latest `keep_last` steps whole; first shorten older tool results to `result_chars`
characters, then drop the oldest middle steps (an assistant message together with its tool
results, never one without the other) until the prompt plus the completion budget fits. If even
that does not fit, the run stops with status `context_overflow` instead of overflowing silently.

Only the *prompt* is fitted: the trajectory keeps every message, so the canonical sample is whole.
Tokens are counted with the backend's tokenizer when it has one, else estimated on the safe side
(UTF-8 bytes / 3: over-counts English, ~1 per CJK character).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tooltune.agent.steps import FormatErrorStep
from tooltune.formats.base import Rendered
from tooltune.messages import Message

TURN_OVERHEAD = 8  # chat-template tokens around each turn (role markers, end of turn)


def estimate_tokens(text: str) -> int:
    return len(text.encode("utf-8")) // 3 + 1


def tokenizer_counter(llm: Any) -> Callable[[str], int]:
    tok = getattr(llm, "tokenizer", None)
    if tok is not None and callable(tok):
        return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])
    return estimate_tokens


class ContextOverflow(FormatErrorStep):
    """The prompt does not fit even after fitting: the run stops with status context_overflow."""


@dataclass
class ContextFitter:
    window: int
    reserve: int  # tokens kept free for the completion
    keep_last: int = 2
    result_chars: int = 400
    count: Callable[[str], int] = estimate_tokens
    _short: dict[int, tuple[Message, Message]] = field(default_factory=dict)  # id -> (original, shortened)

    @property
    def policy(self) -> str:
        return (
            f"keep system + task + the latest {self.keep_last} steps; shorten older tool results to "
            f"{self.result_chars} chars; then drop the oldest middle steps; budget {self.window} tokens "
            f"minus {self.reserve} for the completion"
        )

    def tokens(self, rendered: Rendered) -> int:
        return sum(self.count(t.text) + TURN_OVERHEAD for t in rendered.turns)

    def fit(self, messages: list[Message], render: Callable[[list[Message]], Rendered]) -> tuple[list[Message], dict[str, Any] | None]:
        """(prompt messages, what was done or None when it fit as it was). The returned info has
        `fits: False` when nothing more may be dropped and the prompt is still too long."""
        budget = self.window - self.reserve
        before = self.tokens(render(messages))
        if before <= budget:
            return messages, None
        head, groups = _split(messages)
        middle, tail = groups[: max(0, len(groups) - self.keep_last)], groups[max(0, len(groups) - self.keep_last) :]
        middle = [[self._shorten(m) for m in g] for g in middle]
        shortened = sum(m is not o for g, og in zip(middle, groups) for m, o in zip(g, og))
        dropped = 0
        fitted = head + [m for g in middle + tail for m in g]
        tokens = self.tokens(render(fitted))
        while tokens > budget and dropped < len(middle):
            dropped += 1
            fitted = head + [m for g in middle[dropped:] + tail for m in g]
            tokens = self.tokens(render(fitted))
        info = {
            "policy": self.policy, "window": self.window, "tokens_before": before, "tokens_after": tokens,
            "shortened_results": shortened, "dropped_steps": dropped, "fits": tokens <= budget,
        }
        return fitted, info

    def _shorten(self, msg: Message) -> Message:
        """A shortened copy of a long tool result — the same copy every step, so the render cache
        keeps recognising it."""
        if msg.role != "tool" or len(msg.text) <= self.result_chars:
            return msg
        hit = self._short.get(id(msg))
        if hit is None or hit[0] is not msg:
            cut = len(msg.text) - self.result_chars
            short = Message("tool", msg.text[: self.result_chars] + f" …[{cut} chars cut]", tool_call_id=msg.tool_call_id, name=msg.name)
            hit = (msg, short)
            self._short[id(msg)] = hit
        return hit[1]


def _split(messages: list[Message]) -> tuple[list[Message], list[list[Message]]]:
    """Head (system messages + the task) and the step groups after it."""
    first_user = next((i for i, m in enumerate(messages) if m.role == "user"), len(messages) - 1)
    head = list(messages[: first_user + 1])
    groups: list[list[Message]] = []
    for msg in messages[first_user + 1 :]:
        if msg.role == "tool" and groups:
            groups[-1].append(msg)
        else:
            groups.append([msg])
    return head, groups
