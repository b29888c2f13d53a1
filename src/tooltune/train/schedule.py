"""The learning-rate schedule, written out (as nanoGPT's `get_lr`) instead of named to a library.

Every schedule starts with a linear warm-up from 0 to the peak over `warmup` optimizer steps
(step 0 trains at 0, step `warmup` at the peak), then:

- cosine:   half a cosine from the peak down to 0 at step `total`
- linear:   a straight line from the peak down to 0 at step `total`
- constant: the peak, for as long as the run goes — after the stated warm-up, not instead of it
            (transformers' "constant" has no warm-up; tooltune's always had one, as its help says)

cosine and linear give, step for step, the values of transformers' `get_cosine_schedule_with_
warmup` / `get_linear_schedule_with_warmup`, so runs and checkpoints made before this module keep
their numbers. Only constant ignores `total`: a run on a time budget can grow session by session.
"""

from __future__ import annotations

import math
from typing import Any

from tooltune.errors import TooltuneError

SCHEDULERS = ("cosine", "linear", "constant")


def check_scheduler(name: str) -> None:
    """A one-line error for a `--scheduler` that is none of SCHEDULERS."""
    if name not in SCHEDULERS:
        raise TooltuneError(f"--scheduler {name!r}: use one of {', '.join(SCHEDULERS)}")


def lr_factor(step: int, kind: str, total: int, warmup: int) -> float:
    """The share of the peak learning rate used at optimizer step `step` (counting from 0)."""
    if step < warmup:
        return step / max(1, warmup)
    if kind == "constant":
        return 1.0
    decay_steps = max(1, total - warmup)
    if kind == "linear":
        return max(0.0, (total - step) / decay_steps)  # the share of the decay steps still to go
    if kind == "cosine":
        progress = (step - warmup) / decay_steps  # 0 at the end of warm-up, 1 at `total`
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))
    raise TooltuneError(f"--scheduler {kind!r}: use one of {', '.join(SCHEDULERS)}")


def get_lr(step: int, peak: float, kind: str, total: int, warmup: int) -> float:
    """The learning rate at optimizer step `step`."""
    return peak * lr_factor(step, kind, total, warmup)


def make_scheduler(optimizer: Any, kind: str, total: int | list[int], warmup: int) -> Any:
    """A torch LambdaLR over `lr_factor`: it multiplies each parameter group's peak rate, steps
    with the optimizer and saves and loads its position with a checkpoint. `total` given as a
    one-item list is read at every step, so a run may shorten it (`fitted_total`)."""
    import torch

    check_scheduler(kind)
    horizon = total if isinstance(total, list) else [total]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, kind, horizon[0], warmup))


def fitted_total(step: int, total: int, seconds_per_step: float, seconds_left: float) -> int:
    """The last step a time budget can reach at the measured pace: `total`, or fewer when the
    steps still to go would not fit in `seconds_left` (never fewer than one more step)."""
    if seconds_per_step <= 0:
        return total
    return min(total, step + max(1, int(seconds_left / seconds_per_step)))
