"""The benchmark's report: per category passed / total / %, every item, a chart, a terminal table.

`report.json` holds every item (id, completion, parsed calls, BFCL's verdict and error type) so a
number can always be traced to the outputs behind it. The chart puts the models side by side per
category, with the published scores of FunctionGemma-270M (the smallest published tool caller on
the board) as markers: published by its authors, not measured here, and labelled so.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tooltune.eval.bench import BenchRun, BenchSettings
from tooltune.eval.bfcl import BFCL_VERSION, CATEGORIES
from tooltune.messages import write_text_atomic

# BFCL V4 board / model card, per category, in %: a reference for the chart, never a result of ours.
PUBLISHED = {"FunctionGemma-270M (published)": {"simple_python": 61.6, "multiple": 63.5, "parallel": 39.0, "irrelevance": 73.7}}


def summarize(results: list[dict[str, Any]], categories: list[str]) -> dict[str, dict[str, Any]]:
    """passed / total / accuracy (%) per category, plus the commonest error types."""
    out: dict[str, dict[str, Any]] = {}
    for category in categories:
        rows = [r for r in results if r["category"] == category]
        passed = sum(1 for r in rows if r["valid"])
        errors = Counter(r["error_type"] for r in rows if not r["valid"] and r.get("error_type"))
        out[category] = {
            "passed": passed, "total": len(rows), "accuracy": round(100 * passed / len(rows), 1) if rows else None,
            "errors": dict(errors.most_common(5)),
        }
    return out


def build_report(runs: list[BenchRun], categories: list[str], settings: BenchSettings, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "benchmark": f"BFCL v4 (bfcl-eval {BFCL_VERSION}), AST checker", "settings": asdict(settings) | meta, "categories": categories,
        "runs": [{
            "model": run.model, "format": run.format, "summary": summarize(run.results, categories),
            "backend_errors": run.backend_errors, "items": run.results,
        } for run in runs],
    }


def markdown_table(report: dict[str, Any]) -> str:
    """One row per category, one column per model: `passed/total (xx.x %)`."""
    runs = report["runs"]
    lines = ["| category | " + " | ".join(f"{r['model']} · {r['format']}" for r in runs) + " |",
             "|---|" + "---|" * len(runs)]
    for category in report["categories"]:
        cells = []
        for run in runs:
            s = run["summary"][category]
            cells.append("–" if not s["total"] else f"{s['passed']}/{s['total']} ({s['accuracy']:.1f} %)")
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_chart(report: dict[str, Any], path: Path) -> None:
    """Grouped bars: accuracy per category, one bar per model; published references as markers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tooltune.charts import save_png

    categories = report["categories"]
    runs = report["runs"]
    width = 0.8 / max(1, len(runs))
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(categories) * max(1, len(runs)) / 1.5), 4.5))
    for k, run in enumerate(runs):
        values = [run["summary"][c]["accuracy"] or 0.0 for c in categories]
        xs = [i + (k - (len(runs) - 1) / 2) * width for i in range(len(categories))]
        bars = ax.bar(xs, values, width, label=f"{run['model']} · {run['format']}")
        for bar, value in zip(bars, values):
            ax.text(bar.get_x() + bar.get_width() / 2, value + 1, f"{value:.0f}", ha="center", fontsize=7)
    for label, scores in PUBLISHED.items():
        points = [(i, scores[c]) for i, c in enumerate(categories) if c in scores]
        if points:
            ax.scatter([p[0] for p in points], [p[1] for p in points], marker="_", s=900, color="black", label=label, zorder=3)
    totals = "/".join(str(runs[0]["summary"][c]["total"]) for c in categories) if runs else ""
    ax.set_xticks(range(len(categories)), categories, fontsize=8)
    ax.set_ylim(0, 115)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"BFCL v4 (bfcl-eval {BFCL_VERSION}), items per category {totals}", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=min(3, len(runs) + len(PUBLISHED)), frameon=False)
    save_png(fig, path)


def write_report(out_dir: str | Path, runs: list[BenchRun], categories: list[str], settings: BenchSettings,
                 meta: dict[str, Any]) -> dict[str, Any]:
    """report.json, report.md and bfcl.png in `out_dir`, each written atomically."""
    out_dir = Path(out_dir)
    report = build_report(runs, [c for c in CATEGORIES if c in categories], settings, meta)
    write_chart(report, out_dir / "bfcl.png")
    write_text_atomic(out_dir / "report.json", json.dumps(report, ensure_ascii=False, indent=2))
    decoding = "constrained to the offered schemas" if settings.constrain else "free"
    write_text_atomic(out_dir / "report.md", f"# {report['benchmark']}\n\nDecoding: {decoding}; format {settings.format}.\n\n"
                      f"{markdown_table(report)}\n\n![BFCL per category](bfcl.png)\n")
    return report
