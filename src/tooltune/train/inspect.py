"""Show exactly what is learned: a sample's rendered text with trained tokens highlighted."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from tooltune.train.dataset import IGNORE, Example


def highlight(example: Example, tokenizer: Any) -> Text:
    """Rich text: untrained tokens dim, trained ones bold green, loss weight > 1 bold magenta.
    Tokens are decoded in runs of equal style so multi-byte characters stay whole."""
    text = Text()
    runs: list[tuple[str, list[int]]] = []
    for i, (tok, label) in enumerate(zip(example.input_ids, example.labels)):
        weight = example.weights[i] if example.weights is not None else 1.0
        style = "dim" if label == IGNORE else ("bold magenta" if weight > 1.0 else "bold green")
        if runs and runs[-1][0] == style:
            runs[-1][1].append(tok)
        else:
            runs.append((style, [tok]))
    for style, ids in runs:
        text.append(tokenizer.decode(ids), style=style)
    return text


def summary(example: Example) -> str:
    spans = example.turn_spans()
    weighted = sum(1 for w in example.weights or [] if w > 1.0)
    extra = f", {weighted} with loss weight > 1" if example.weights is not None else ""
    return f"{len(example)} tokens, {example.n_trained} trained ({example.n_trained / max(len(example), 1):.0%}) in {len(spans)} assistant spans{extra}"


def tree_view(rows: list[Any], index: int, tokenizer: Any, prefix_chars: int = 400) -> tuple[Text, str] | None:
    """The tree row (train/tree.py) that holds sample `index`: its shared prefix once (dim, cut to
    `prefix_chars` characters — it is the same for every branch), then each branch highlighted as
    `highlight` does, the asked sample marked. None when that sample trains as a plain row."""
    from tooltune.train.tree import TreeRow

    for row in rows:
        if not (isinstance(row, TreeRow) and row.prefix and any(b.source == index for b in row.branches)):
            continue
        text = Text()
        shown = tokenizer.decode(row.prefix)
        cut = shown if len(shown) <= prefix_chars else shown[:prefix_chars] + f" … ({len(shown) - prefix_chars} more characters)"
        text.append(f"── shared prefix: {len(row.prefix)} tokens, computed once for {len(row.branches)} branches ──\n", style="bold")
        text.append(cut + "\n", style="dim")
        for k, branch in enumerate(row.branches):
            mark = "  ← --index" if branch.source == index else ""
            text.append(f"\n── branch {k + 1}/{len(row.branches)}: sample {branch.source}, {len(branch)} tokens{mark} ──\n", style="bold")
            text.append_text(highlight(branch, tokenizer))
        flat = sum(len(row.prefix) + len(b) for b in row.branches)
        return text, (f"tree row: {len(row)} tokens for {len(row.branches)} samples that as plain rows take {flat} "
                      f"({1 - len(row) / flat:.0%} fewer tokens to run)")
    return None
