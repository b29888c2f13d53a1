"""A preference pair as one row: the prompt both sides share is computed once.

The two steps of a pair follow the same prompt — on agent data the tool schemas and the
conversation, nearly all the tokens — and differ only in the step. Scored as two rows, the prompt
runs twice (forward and backward). Here one row holds `shared + chosen tail + rejected tail`: the
rejected tail takes the positions where the chosen tail starts (position ids) and is barred from
seeing it (a 4-D attention mask), so every token of either side sees exactly what it would see
alone — the log-probs equal the two-row path's (tests/train/test_fork.py) — for about half the
tokens. Each target is read from the row position that predicts it, not by shifting the row:
the token before the first rejected token is the last shared one, not the chosen tail's end.

Flash-attention kernels take no 4-D mask; a model loaded with them keeps the two-row path
(`forks_supported`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tooltune.train.dataset import IGNORE, Example


@dataclass
class Fork:
    ids: list[int]
    positions: list[int]
    shared: int  # tokens both sides begin with: row indices [0, shared)
    rejected_start: int  # row index where the rejected tail begins (= end of the chosen tail)
    targets: list[tuple[int, int, int]]  # (row index that predicts it, token id, 0 chosen | 1 rejected)


def fork(chosen: Example, rejected: Example) -> Fork:
    """The one-row layout of a pair (module docstring). The shared part is the longest common
    token prefix; a labelled token inside it is scored for both sides, as two rows would."""
    a, b = chosen.input_ids, rejected.input_ids
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    shift = len(a) - n  # rejected index k >= n sits at row index k + shift
    ids = a + b[n:]
    positions = list(range(len(a))) + list(range(n, len(b)))
    targets = []
    for side, ex in ((0, chosen), (1, rejected)):
        for j in range(1, len(ex)):
            if ex.labels[j] != IGNORE:
                before = j - 1 if side == 0 or j - 1 < n else j - 1 + shift
                targets.append((before, ex.labels[j], side))
    return Fork(ids, positions, n, len(a), targets)


def fork_batch(forks: list[Fork], pad_id: int, pad_to_multiple: int = 8) -> dict[str, Any]:
    """Tensors for `LogpModel`: rows padded at the end; `attention_mask` is [rows, 1, T, T] bool
    (True: may attend) — causal, except that a rejected tail never sees the chosen tail; the
    scored positions come as flat (row, column, token, slot) lists, slot i for pair i's chosen
    side and len(forks) + i for its rejected side, the order the two-row path returns."""
    import torch

    width = -(-max(len(f.ids) for f in forks) // pad_to_multiple) * pad_to_multiple
    mask = torch.ones(width, width, dtype=torch.bool).tril().repeat(len(forks), 1, 1)
    ids, positions, rows, cols, tokens, slots = [], [], [], [], [], []
    for i, f in enumerate(forks):
        mask[i, f.rejected_start:, f.shared:f.rejected_start] = False
        pad = width - len(f.ids)
        ids.append(f.ids + [pad_id] * pad)
        positions.append(f.positions + list(range(pad)))
        for col, token, side in f.targets:
            rows.append(i)
            cols.append(col)
            tokens.append(token)
            slots.append(i + side * len(forks))
    long = {"dtype": torch.long}
    return {"input_ids": torch.tensor(ids, **long), "position_ids": torch.tensor(positions, **long),
            "attention_mask": mask.unsqueeze(1), "score_rows": torch.tensor(rows, **long),
            "score_cols": torch.tensor(cols, **long), "score_tokens": torch.tensor(tokens, **long),
            "score_slots": torch.tensor(slots, **long), "n_slots": torch.tensor(2 * len(forks)),
            "real_tokens": sum(len(f.ids) for f in forks)}


def forks_supported(model: Any) -> bool:
    """False where attention runs in flash-attention kernels, which take no 4-D mask."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "flash" not in str(getattr(base.config, "_attn_implementation", "") or "")
