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
from dataclasses import dataclass
from typing import Any

from tooltune.llm.base import OnText, cut_at_stop
from tooltune.llm.constrain import Guide
from tooltune.llm.prefix_cache import cache_kw


@dataclass
class TextRelay:
    """Forwards decoded text to `on_text` as it grows, holding back the tail that could be the
    start of a stop string (so a stop string is never shown) and an unfinished UTF-8 character.
    Only a tail that really begins a stop string is held — not the stop string's length in
    characters — so the first token shows as soon as it cannot be one (`<tool_c` is shown at
    once while `<tool_` waits, with the stop string `<tool_response>`)."""

    stop: list[str]
    on_text: OnText | None = None
    emitted: str = ""
    stopped: bool = False

    def update(self, text: str) -> bool:
        """Take the whole text so far; True once it contains a stop string."""
        visible, self.stopped = cut_at_stop(text, self.stop)
        if not self.stopped:
            visible = visible.rstrip("\ufffd")  # a multi-byte character still being decoded
            visible = visible[: len(visible) - stop_start_length(visible, self.stop)]
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


def stop_start_length(text: str, stop: list[str]) -> int:
    """The length of the longest tail of `text` that is the beginning of a stop string."""
    longest = 0
    for s in stop:
        for n in range(min(len(s) - 1, len(text)), longest, -1):
            if text.endswith(s[:n]):
                longest = n
                break
    return longest


def decode(
    model: Any, ids: list[int], cache: Any, max_new: int, eos: set[int],
    should_stop: Callable[[list[int]], bool], temperature: float = 0.0, cancel: threading.Event | None = None,
    guide: Guide | None = None,
) -> list[int]:
    """New token ids after prompt `ids`, whose first `cache.get_seq_length()` positions are
    already in `cache`. Greedy when `temperature` is 0, else sampled from softmax(logits / T);
    with a `guide`, only among the tokens its grammar allows (tooltune.llm.constrain).
    Stops at an end token (kept), when `should_stop(new)` says so, at `max_new`, or on `cancel`.
    The last token is never fed back, so the cache ends holding the prompt plus all but it."""
    import torch

    todo = torch.tensor([ids[cache.get_seq_length():]], device=model.device)
    new: list[int] = []
    kw = cache_kw(model, cache)
    with torch.inference_mode():
        while len(new) < max_new and not (cancel is not None and cancel.is_set()):
            logits = model(input_ids=todo, **kw, use_cache=True, logits_to_keep=1).logits[0, -1]
            if guide is not None:
                token = guide.pick(logits, temperature)
                guide.accept(token)
            elif temperature > 0:
                token = int(torch.multinomial(torch.softmax(logits.float() / temperature, dim=-1), 1))
            else:
                token = int(logits.argmax())
            new.append(token)
            if token in eos or should_stop(new):
                break
            todo = torch.tensor([[token]], device=model.device)
    return new
