"""Preference pairs as tree rows: the prompt once, every pair's two steps as branches after it.

The two steps of a pair follow the same prompt — on agent data the tool schemas and the
conversation, nearly all the tokens — and several pairs often follow the same prompt too (mining
draws several wrong steps per item). Scored as two rows per pair, that prompt runs 2K times,
forward and backward. Here the K pairs behind one prompt (an exact token match) form one tree row
(train/tree.py): the prompt is its prefix, run once, and the 2K steps are its branches, chosen and
rejected in turn. Each branch's position ids go on from the prefix and the tree mask lets it see
the prefix and itself only, so every step token is scored on exactly what it sees in a row of its
own: the log-probs and their gradients equal the two-row path's (tests/train/test_pair_tree.py).

A tree row never predicts a branch's first token (it would be read from the previous branch), but
a step's first token is scored. So the prefix stops one token short of the prompt: each branch
opens with the prompt's last token, which predicts the step's first token inside the branch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tooltune.train.dataset import IGNORE, Example
from tooltune.train.packing import collate_trees
from tooltune.train.tree import TreeRow


@dataclass
class PairTree(TreeRow):
    """A tree row whose branches are pair i's chosen (2i) and rejected (2i + 1) steps."""

    pairs: list[Any] = field(default_factory=list)  # PairExample (train/dpo.py), in branch order


def shared_prompt(chosen: Example, rejected: Example) -> int:
    """The prefix a pair can share with the pairs behind the same prompt: its leading tokens that
    are equal on both sides and scored on neither, less the last one (module docstring)."""
    n, end = 0, min(len(chosen), len(rejected))
    while n < end and chosen.input_ids[n] == rejected.input_ids[n] and chosen.labels[n] == IGNORE == rejected.labels[n]:
        n += 1
    return max(n - 1, 0)


def pair_trees(pairs: list[Any], max_length: int | None = None) -> list[PairTree]:
    """Pairs grouped by their shared prompt (an exact token match), in order of first appearance;
    a group longer than `max_length` tokens is split between pairs, never inside one."""
    groups: dict[tuple[int, ...], list[Any]] = {}
    for p in pairs:
        groups.setdefault(tuple(p.chosen.input_ids[:shared_prompt(p.chosen, p.rejected)]), []).append(p)
    rows: list[PairTree] = []
    for key, members in groups.items():
        n = len(key)
        row: PairTree | None = None
        for p in members:
            steps = [Example(ex.input_ids[n:], ex.labels[n:], None, ex.source) for ex in (p.chosen, p.rejected)]
            if row is None or (max_length is not None and len(row) + sum(map(len, steps)) > max_length):
                row = PairTree(list(key), [], [])
                rows.append(row)
            row.branches += steps
            row.pairs.append(p)
    return rows


def tree_batch(rows: list[PairTree], order: list[Any], pad_id: int) -> dict[str, Any]:
    """Tensors for `LogpModel`: each row as `collate_trees` lays it out (prefix, branches, mask,
    positions), plus `slots`, the output index each token's log-prob adds into: pair i of
    `order` (a list holding every pair of `rows`) sums into i for its chosen step and
    len(order) + i for its rejected one — the order of the two-row path."""
    import torch

    index = {id(p): i for i, p in enumerate(order)}
    trees, real = [], 0
    for row in rows:
        t = collate_trees([row], pad_id)
        real += t.pop("real_tokens")
        slots: list[int] = []
        for k, branch in enumerate(row.branches):
            slots += [index[id(row.pairs[k // 2])] + (k % 2) * len(order)] * len(branch)
        slots += [0] * (t["input_ids"].shape[1] - len(slots))  # padding: never a target
        t["slots"] = torch.tensor([slots], dtype=torch.long)
        trees.append(t)
    return {"trees": trees, "n_slots": torch.tensor(2 * len(order)), "real_tokens": real}
