"""Packing: several samples per row, positions reset per sample, attention kept inside a sample.

Rows carry no attention mask, only `position_ids` that restart at 0 for each sample (and for
the padding tail). transformers turns such position ids into a block-diagonal causal mask
(`masking_utils.find_packed_sequence_indices`) for eager/SDPA attention, and flash-attention's
varlen kernels read the same position ids, so the packed row computes exactly what each sample
would alone (tests/train/test_proofs.py checks the logits). A tree row (train/tree.py) is
collated here too, so one `collate` turns every kind of row into tensors.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from tooltune.train.dataset import IGNORE, Example
from tooltune.train.tree import TreeRow


@dataclass
class PackStats:
    rows: int
    slots: int  # rows x padded width, summed over batches
    real_tokens: int

    @property
    def padding_waste(self) -> float:
        """Share of the row slots that hold padding instead of sample tokens."""
        return 1.0 - self.real_tokens / self.slots if self.slots else 0.0


def pack(examples: list[Example], max_length: int) -> list[list[Example]]:
    """First-fit decreasing bin packing into rows of at most `max_length` tokens."""
    rows: list[list[Example]] = []
    room: list[int] = []
    for ex in sorted(examples, key=len, reverse=True):
        for i, free in enumerate(room):
            if len(ex) <= free:
                rows[i].append(ex)
                room[i] -= len(ex)
                break
        else:
            rows.append([ex])
            room.append(max_length - len(ex))
    return rows


def one_per_row(examples: list[Example]) -> list[list[Example]]:
    return [[ex] for ex in examples]


def make_rows(examples: list[Example], max_length: int, packed: bool) -> list[list[Example]]:
    return pack(examples, max_length) if packed else one_per_row(examples)


def batches(rows: list[list[Example]], batch_size: int, seed: int, epoch: int) -> list[list[list[Example]]]:
    """Rows shuffled deterministically per (seed, epoch) so a resumed run sees the same order."""
    order = list(range(len(rows)))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    shuffled = [rows[i] for i in order]
    return [shuffled[i:i + batch_size] for i in range(0, len(shuffled), batch_size)]


def collate(batch: list[list[Example]], pad_id: int, row_length: int | None = None, pad_to_multiple: int = 8) -> dict[str, Any]:
    """Tensors for a batch of rows. Each row is padded to the longest row (rounded up to a
    multiple of `pad_to_multiple`), or to `row_length`; the pad tail is its own position run."""
    import torch

    if batch and isinstance(batch[0], TreeRow):
        return collate_trees(batch, pad_id, pad_to_multiple)  # type: ignore[arg-type]
    lengths = [sum(len(ex) for ex in row) for row in batch]
    width = row_length or -(-max(lengths) // pad_to_multiple) * pad_to_multiple
    ids, labels, positions, weights = [], [], [], []
    use_weights = any(ex.weights is not None for row in batch for ex in row)
    for row, length in zip(batch, lengths):
        r_ids, r_labels, r_pos, r_w = [], [], [], []
        for ex in row:
            r_ids += ex.input_ids
            # A sample's first token is never a target: in a packed row it would be predicted
            # from the previous sample's last token.
            r_labels += [IGNORE] + ex.labels[1:]
            r_pos += list(range(len(ex)))
            r_w += ex.weights if ex.weights is not None else [1.0 if lab != IGNORE else 0.0 for lab in ex.labels]
        pad = width - length
        ids.append(r_ids + [pad_id] * pad)
        labels.append(r_labels + [IGNORE] * pad)
        positions.append(r_pos + list(range(pad)))
        weights.append(r_w + [0.0] * pad)
    out = {
        "input_ids": torch.tensor(ids, dtype=torch.long),
        "labels": torch.tensor(labels, dtype=torch.long),
        "position_ids": torch.tensor(positions, dtype=torch.long),
        "real_tokens": sum(lengths),
    }
    if use_weights:
        out["weights"] = torch.tensor(weights, dtype=torch.float32)
    return out


def collate_trees(batch: list[TreeRow], pad_id: int, pad_to_multiple: int = 8) -> dict[str, Any]:
    """Tensors for `LossModel` from ONE tree row: `prefix_ids` [1, P], and the continuations one
    after another in one row [1, N] whose position ids go on from P and whose `attention_mask`
    [1, 1, N, P + N] (bool, True = may attend) lets each token see the prefix and the earlier
    tokens of its own continuation. The model runs the prefix once, keeps its keys and values, and
    runs the continuations on top (train/tree.py). A row without a prefix is a plain row."""
    import torch

    if len(batch) != 1:
        raise ValueError("tree rows go one per micro-batch")
    row = batch[0]
    p = len(row.prefix)
    if p == 0:
        return collate([row.branches], pad_id, pad_to_multiple=pad_to_multiple)
    ids, labels, positions, weights, segment = [], [], [], [], []
    for k, b in enumerate(row.branches):
        ids += b.input_ids
        labels += b.labels  # its first token is untrained (tree_rows): never predicted across a boundary
        positions += range(p, p + len(b))
        weights += b.weights if b.weights is not None else [1.0 if lab != IGNORE else 0.0 for lab in b.labels]
        segment += [k] * len(b)
    n = len(ids)
    seg = torch.tensor(segment)
    own = (seg.unsqueeze(1) == seg.unsqueeze(0)) & torch.ones(n, n, dtype=torch.bool).tril()
    mask = torch.cat([torch.ones(n, p, dtype=torch.bool), own], dim=1)
    long = {"dtype": torch.long}
    out = {"prefix_ids": torch.tensor([row.prefix], **long), "input_ids": torch.tensor([ids], **long), "labels": torch.tensor([labels], **long),
           "position_ids": torch.tensor([positions], **long), "attention_mask": mask[None, None], "real_tokens": len(row)}
    if any(b.weights is not None for b in row.branches):
        out["weights"] = torch.tensor([weights], dtype=torch.float32)
    return out


def stats(batched: list[list[list[Example]]], pad_to_multiple: int = 8) -> PackStats:
    """Padding waste as the trainer sees it: each row padded to the longest row of its batch."""
    rows = slots = real = 0
    for batch in batched:
        lengths = [row_len(row) for row in batch]
        rows += len(batch)
        real += sum(lengths)
        slots += len(batch) * (-(-max(lengths) // pad_to_multiple) * pad_to_multiple)
    return PackStats(rows, slots, real)


def row_len(row: list[Example] | TreeRow) -> int:
    """Tokens in a row: a packed row's samples, or a tree row's prefix and continuations."""
    return len(row) if isinstance(row, TreeRow) else sum(len(ex) for ex in row)
