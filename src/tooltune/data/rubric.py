"""The 1–5 human rubric of stored samples, aggregated: what people scored on the annotation page.
It lives with the store (data) because `corpus-stats` reads it from there; eval reports import it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _rate(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return sum(values) / len(values) if values else None


def human_rubric(scores: Iterable[tuple[str, int | None]]) -> dict[str, Any]:
    """Aggregate people's 1–5 scores of the reference samples (0 = a violation; 4 or 5 = usable).
    `scores` are (lang, score) pairs; unscored samples are counted but not averaged."""
    pairs = list(scores)
    scored = [(lang, s) for lang, s in pairs if s is not None]

    def block(values: list[int]) -> dict[str, Any]:
        return {
            "scored": len(values),
            "mean": sum(values) / len(values) if values else None,
            "usable_rate": _rate(v >= 4 for v in values),
            "violations": sum(v == 0 for v in values),
            "histogram": {str(k): sum(v == k for v in values) for k in range(6)},
        }

    out = {"samples": len(pairs), **block([s for _, s in scored])}
    out["per_lang"] = {lang: block([s for l2, s in scored if l2 == lang]) for lang in sorted({l for l, _ in scored})}
    return out
