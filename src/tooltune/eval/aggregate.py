"""Aggregate per-item results into the numbers a report shows: overall, per tool, per language.

Rates are over *steps* (every reference assistant turn, teacher-forced) unless named otherwise:
call-quality numbers over steps that should call a tool, no-call numbers over steps that should
not. A rate with nothing to count is `None` (shown as "–"), never a misleading 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from tooltune.eval.planned import summarize_plans

# The headline metrics, in report order: (key, label).
HEADLINE = [
    ("format_validity", "format valid"),
    ("strict_format", "format followed"),
    ("tool_name_em", "tool name EM"),
    ("args_em", "args EM (AST)"),
    ("rouge_l", "args ROUGE-L"),
    ("bleu", "args BLEU"),
    ("score", "score EM+λ·fuzzy"),
    ("call_precision", "call precision"),
    ("call_recall", "call recall"),
    ("no_call_accuracy", "no-call accuracy"),
    ("trajectory_match", "free-run trajectory match"),
    ("e2e_success", "end-to-end success"),
]


def _rate(values: Iterable[float | bool]) -> float | None:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else None


def _steps(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for r in results for s in r["steps"]]


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Headline metrics over a set of item results."""
    steps = _steps(results)
    call_steps = [s for s in steps if s["expect_call"]]
    nocall_steps = [s for s in steps if not s["expect_call"]]
    tp = sum(s["called"] for s in call_steps)
    fp = sum(s["called"] for s in nocall_steps)
    negatives = [r for r in results if not r["expect_tool_call"]]
    free = [r["free_run"] for r in results if r.get("free_run") and r["free_run"]["status"] != "skipped"]
    e2e = [r["e2e"]["success"] for r in results if r.get("e2e")]
    # planned runs (`--plan`) add their rows; without them the summary is what it always was
    plans = summarize_plans([r["plan"] for r in results if r.get("plan")]) if any("plan" in r for r in results) else {}
    return {
        "items": len(results),
        "steps": len(steps),
        "call_steps": len(call_steps),
        "format_validity": _rate(s["valid"] for s in steps),
        "strict_format": _rate(s["strict"] for s in steps),
        "tool_name_em": _rate(s["name_match"] for s in call_steps),
        "args_em": _rate(s["args_match"] for s in call_steps),
        "rouge_l": _rate(s["rouge_l"] for s in call_steps),
        "bleu": _rate(s["bleu"] for s in call_steps),
        "score": _rate(s["score"] for s in steps),
        "call_precision": tp / (tp + fp) if tp + fp else None,
        "call_recall": tp / len(call_steps) if call_steps else None,
        "no_call_accuracy": _rate(not s["called"] for s in nocall_steps),
        "hard_negatives": len(negatives),
        "hard_negative_accuracy": _rate(not any(s["called"] for s in r["steps"]) for r in negatives),
        "free_runs": len(free),
        "trajectory_match": _rate(f["trajectory_match"] for f in free),
        "tool_sequence_match": _rate(f["tool_sequence_match"] for f in free),
        "free_run_status": dict(sorted(_count(f["status"] for f in free).items())),
        "loops": sum(f["status"] == "loop" for f in free),
        "e2e_items": len(e2e),
        "e2e_success": _rate(e2e),
        **plans,
    }


def _count(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for v in values:
        counts[v] += 1
    return dict(counts)


def per_tool(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Call quality for each tool over the steps whose reference calls it, plus how often the
    model called it where no call was due; the "(no call)" row is the hard-negative view."""
    by_tool: dict[str, list[dict[str, Any]]] = defaultdict(list)
    spurious: dict[str, int] = defaultdict(int)
    for step in _steps(results):
        for name in sorted({c["name"] for c in step["expected"]}):
            by_tool[name].append(step)
        if not step["expect_call"]:
            by_tool["(no call)"].append(step)
            for call in step["parsed"].get("calls", []):
                spurious[call["name"]] += 1
    table = {}
    for name in sorted(set(by_tool) | set(spurious), key=lambda n: (n == "(no call)", n)):
        steps = by_tool.get(name, [])
        table[name] = {
            "steps": len(steps),
            "tool_name_em": _rate(s["name_match"] for s in steps),
            "args_em": _rate(s["args_match"] for s in steps),
            "rouge_l": _rate(s["rouge_l"] for s in steps),
            "score": _rate(s["score"] for s in steps),
            "spurious_calls": spurious.get(name, 0),
        }
    return table


def per_lang(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    langs = sorted({r["lang"] for r in results})
    return {lang: summarize([r for r in results if r["lang"] == lang]) for lang in langs}


def spread(summaries: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Format robustness: for each headline metric, min / max / spread (max - min) over formats."""
    out = {}
    for key, _ in HEADLINE:
        values = [s[key] for s in summaries.values() if s.get(key) is not None]
        out[key] = {"min": min(values), "max": max(values), "spread": max(values) - min(values)} if values else {"min": None, "max": None, "spread": None}
    return out
