"""Tree rows: one shared prompt, many continuations, one forward pass.

In tool-calling data most tokens are the system prompt with its tool list, and every sample over
the same tools starts with exactly those tokens. A tree row holds that prefix once and K
continuations after it: each continuation's position ids go on from the prefix's end, and a 4-D
attention mask lets a token see the prefix and the earlier tokens of its own continuation, never
another continuation. Each token therefore sees exactly what it would see in its own row, so the
summed token losses and their gradients equal those of K plain rows (tests/train/test_tree.py)
while the prefix is computed once instead of K times. The rows become tensors where packed rows do
(train/packing.py `collate`, which hands a tree row to `collate_trees`).

The loss reads targets by the usual one-position shift (`LossModel`), so a continuation's first
token must not be a target — it would be predicted from the previous continuation's last token.
It never is: the prefix is the system turn (found by `ChatRenderer.prefix_len`) and every
continuation opens with the user's turn. An example whose first token after the prefix is trained
stays a row of its own. A packed row is the special case of an empty prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tooltune.train.dataset import IGNORE, Example


@dataclass
class TreeRow:
    prefix: list[int]
    branches: list[Example]  # the tokens after the prefix, one Example per sample

    def __len__(self) -> int:
        return len(self.prefix) + sum(len(b) for b in self.branches)


def _branch(ex: Example, start: int) -> Example:
    weights = ex.weights[start:] if ex.weights is not None else None
    return Example(ex.input_ids[start:], ex.labels[start:], weights, ex.source)


def tree_rows(examples: list[Example], max_length: int) -> list[TreeRow]:
    """Examples grouped by their prefix (an exact token match), each group's continuations packed
    first-fit-decreasing into rows of at most `max_length` tokens; an example that shares its
    prefix with no other, or cannot branch (module docstring), becomes a one-branch row."""
    groups: dict[tuple[int, ...], list[Example]] = {}
    rows: list[TreeRow] = []
    for ex in examples:
        n = ex.prefix
        untrained_prefix = n > 0 and all(label == IGNORE for label in ex.labels[: n + 1])
        if untrained_prefix and n < len(ex):
            groups.setdefault(tuple(ex.input_ids[:n]), []).append(ex)
        else:
            rows.append(TreeRow([], [ex]))
    for key, members in groups.items():
        if len(members) == 1:
            rows.append(TreeRow([], members))
            continue
        prefix = list(key)
        room: list[int] = []
        mine: list[TreeRow] = []
        for ex in sorted(members, key=len, reverse=True):
            branch = _branch(ex, len(prefix))
            for i, free in enumerate(room):
                if len(branch) <= free:
                    mine[i].branches.append(branch)
                    room[i] -= len(branch)
                    break
            else:
                mine.append(TreeRow(prefix, [branch]))
                room.append(max_length - len(prefix) - len(branch))
        rows += [r if len(r.branches) > 1 else TreeRow([], [rejoin(prefix, r.branches[0])]) for r in mine]
    return rows


def rejoin(prefix: list[int], branch: Example) -> Example:
    """A branch made a plain row again: the prefix in front, untrained."""
    weights = [0.0] * len(prefix) + branch.weights if branch.weights is not None else None
    return Example(prefix + branch.input_ids, [IGNORE] * len(prefix) + branch.labels, weights, branch.source, len(prefix))


def samples_in(rows: list[Any]) -> int:
    """How many samples a list of rows (tree rows or packed rows) holds."""
    return sum(len(r.branches) if isinstance(r, TreeRow) else len(r) for r in rows)
