"""Base-vs-tuned summary of the recipe's held-out evaluations: one markdown table and one PNG,
gathered from every eval report of the latest adapter step (json and react may be evaluated on
different item counts; each column says how many)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from tooltune.messages import read_jsonl, write_text_atomic

METRICS = [("format_validity", "valid format (all steps)"), ("tool_name_em", "tool name EM (call steps)"),
           ("args_em", "name + exact arguments, AST (call steps)"), ("negatives_no_call", "no call on hard negatives"),
           ("no_fit_no_call", "… where no offered tool fits"), ("chat_plain", "… plain questions answered in plain text"),
           ("no_call_accuracy", "no-call accuracy (all no-call steps)"), ("e2e_success", "end-to-end success")]


# Summary keys of the hard-negative rows and the item kind each covers (None: every negative).
NEGATIVE_ROWS = (("negatives_no_call", None), ("no_fit_no_call", "no_fit"), ("chat_plain", "chat"))


def negatives_no_call(results: Path, kinds: dict[str, str] | None = None, kind: str | None = None) -> float | None:
    """Share of hard-negative items (no tool should be called) whose first step called nothing:
    the issue's no-call accuracy on hard negatives, apart from answers after tool results.
    With `kind` (and the items' kinds by id), only that kind of negative: `no_fit` (no offered
    tool fits the question) or `chat` (a plain question: is general chat still plain text?)."""
    return _no_call_share([row for _, row in read_jsonl(results)], kinds, kind)


def _no_call_share(rows: list[dict[str, Any]], kinds: dict[str, str] | None, kind: str | None) -> float | None:
    negatives = [r for r in rows if not r["expect_tool_call"] and (kind is None or (kinds or {}).get(r["item_id"]) == kind)]
    if not negatives:
        return None
    right = [r for r in negatives if not r["steps"][0]["called"] and r["steps"][0].get("valid", True)]  # plain text, no call
    return len(right) / len(negatives)


def item_kinds(items: Path) -> dict[str, str]:
    """Each eval item's kind (single, parallel, no_fit, chat) by id, from the held-out items file."""
    if not items.exists():
        return {}
    return {row["id"]: row.get("kind", "") for _, row in read_jsonl(items)}


def collect(step_dir: Path) -> list[dict[str, Any]]:
    """One row per (model, format) run: its summary and the number of items it covered."""
    rows, kinds = [], item_kinds(step_dir.parent / "heldout_eval.jsonl")
    for report in sorted(step_dir.glob("*/report.json")):
        data = json.loads(report.read_text(encoding="utf-8"))
        for run in data["runs"]:
            if run["status"] == "ok":
                results = [row for _, row in read_jsonl(report.parent / "runs" / f"{run['model']}__{run['format']}.jsonl")]
                summary = {**run["summary"], **{key: _no_call_share(results, kinds, kind) for key, kind in NEGATIVE_ROWS}}
                rows.append({"model": run["model"], "format": run["format"], "items": data["items"],
                             "negatives": data["hard_negatives"], "summary": summary, "report": str(report)})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    cols = sorted({(r["format"], r["items"], r["negatives"]) for r in rows}, key=lambda c: c[0] != "json")
    head = "| metric | " + " | ".join(f"{m} · {f} ({n} items, {k} negatives)" for f, n, k in cols for m in ("base", "tuned")) + " |"
    lines = [head, "|---|" + "---|" * (2 * len(cols))]
    by = {(r["model"], r["format"]): r["summary"] for r in rows}
    for key, label in METRICS:
        cells = []
        for f, _, _ in cols:
            for m in ("base", "tuned"):
                v = by.get((m, f), {}).get(key)
                cells.append("–" if v is None else f"{100 * v:.1f} %")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def chart(rows: list[dict[str, Any]], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(rows, key=lambda r: (r["format"] != "json", r["model"] != "base"))
    fig, ax = plt.subplots(figsize=(12, 5.4))
    width = 0.8 / max(len(runs), 1)
    for i, r in enumerate(runs):
        values = [100 * (r["summary"].get(k) or 0) for k, _ in METRICS]
        xs = [j + i * width for j in range(len(METRICS))]
        bars = ax.bar(xs, values, width, label=f"{r['model']} · {r['format']} ({r['items']} items)")
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks([j + width * (len(runs) - 1) / 2 for j in range(len(METRICS))], [textwrap.fill(label, 20) for _, label in METRICS], fontsize=8)
    ax.set_ylabel("% of items / steps")
    ax.set_ylim(0, 110)
    fig.suptitle("SmolLM2-135M on 56 tools it never saw in training: base vs tuned (smollm2-tools adapter)")
    ax.legend(fontsize=8, ncol=len(runs), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)  # above the bars, never over them
    ax.grid(axis="y", alpha=0.3)
    from tooltune.charts import save_png

    save_png(fig, png)


def write_summary(step_dir: Path, out_dir: Path) -> dict[str, Any]:
    rows = collect(step_dir)
    write_text_atomic(out_dir / "heldout.md", table(rows))
    chart(rows, out_dir / "heldout.png")
    return {"runs": [{k: r[k] for k in ("model", "format", "items", "negatives")} | {m: r["summary"].get(m) for m, _ in METRICS} for r in rows]}
