"""One request's decoding loop for `TransformersLLM.complete`: a forward pass per token on the
KV cache, with streaming, stop strings and cancel checked between tokens.

Why not `model.generate`: for a 135M model on a CPU, `generate`'s own per-token work (logits
processors, stopping criteria, the streamer thread decoding text, mask and position bookkeeping)
costs about as much as the model's int8 forward pass (~14 of ~42 ms a token, measured with an
1155-token prompt). The loop below does only what a request asks for, and greedy output is the
same token for token (the same forward passes, the same argmax). Batches still use `generate`
(`tooltune.llm.batch`), which handles padded rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tooltune.llm.base import OnText, cut_at_stop


@dataclass
class TextRelay:
    """Forwards decoded text to `on_text` as it grows, holding back any tail that could be the
    start of a stop string (so a stop string is never shown) and an unfinished UTF-8 character."""

    stop: list[str]
    on_text: OnText | None = None
    emitted: str = ""
    stopped: bool = False
    _hold: int = field(init=False)

    def __post_init__(self) -> None:
        self._hold = max((len(s) for s in self.stop), default=0)

    def update(self, text: str) -> bool:
        """Take the whole text so far; True once it contains a stop string."""
        visible, self.stopped = cut_at_stop(text, self.stop)
        if not self.stopped:
            visible = visible.rstrip("\ufffd")  # a multi-byte character still being decoded
            visible = visible[: max(len(self.emitted), len(visible) - self._hold)]
        self._emit(visible)
        return self.stopped

    def finish(self, text: str) -> str:
        """Emit what is left once decoding ends; returns the text cut at the first stop string."""
        final, self.stopped = cut_at_stop(text, self.stop)
        self._emit(final)
        return final

    def _emit(self, visible: str) -> None:
        if self.on_text and len(visible) > len(self.emitted):
            self.on_text(visible[len(self.emitted):])
            self.emitted = visible


def decode(
    model: Any, ids: list[int], cache: Any, max_new: int, eos: set[int],
    should_stop: Callable[[list[int]], bool], temperature: float = 0.0, cancel: threading.Event | None = None,
) -> list[int]:
    """New token ids after prompt `ids`, whose first `cache.get_seq_length()` positions are
    already in `cache`. Greedy when `temperature` is 0, else sampled from softmax(logits / T).
    Stops at an end token (kept), when `should_stop(new)` says so, at `max_new`, or on `cancel`.
    The last token is never fed back, so the cache ends holding the prompt plus all but it."""
    import torch

    todo = torch.tensor([ids[cache.get_seq_length():]], device=model.device)
    new: list[int] = []
    with torch.inference_mode():
        while len(new) < max_new and not (cancel is not None and cancel.is_set()):
            logits = model(input_ids=todo, past_key_values=cache, use_cache=True, logits_to_keep=1).logits[0, -1]
            if temperature > 0:
                token = int(torch.multinomial(torch.softmax(logits.float() / temperature, dim=-1), 1))
            else:
                token = int(logits.argmax())
            new.append(token)
            if token in eos or should_stop(new):
                break
            todo = torch.tensor([[token]], device=model.device)
    return new
