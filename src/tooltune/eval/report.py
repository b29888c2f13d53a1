"""The eval report: `report.json` (everything), `report.md` (tables) and PNG charts.

A report holds one or more *runs* (a model under a prompt format). Several formats of one model
give the format-robustness spread; two models (`--compare base,tuned`) sit side by side.
A run that could not be evaluated (say, `native` on a model whose chat template has no tools)
is listed with its reason instead of failing the whole report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooltune.charts import save_png
from tooltune.eval.aggregate import HEADLINE, per_lang, per_tool, spread, summarize
from tooltune.eval.planned import PLAN_ROWS
from tooltune.messages import write_text_atomic

CHART_METRICS = ["format_validity", "strict_format", "tool_name_em", "args_em", "rouge_l", "no_call_accuracy", "e2e_success"]
_LABELS = dict(HEADLINE)


@dataclass
class RunOutcome:
    model: str
    format: str
    status: str = "ok"  # ok | failed
    error: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    backend_errors: dict[str, str] = field(default_factory=dict)  # unscored items: id -> server message

    @property
    def label(self) -> str:
        return f"{self.model} · {self.format}"


def build_report(runs: list[RunOutcome], meta: dict[str, Any], rubric: dict[str, Any] | None) -> dict[str, Any]:
    report_runs = []
    for run in runs:
        entry: dict[str, Any] = {"model": run.model, "format": run.format, "status": run.status, "error": run.error,
                                 "backend_errors": len(run.backend_errors), "backend_error_items": run.backend_errors}
        if run.status == "ok":
            entry.update(summary=summarize(run.results), per_tool=per_tool(run.results), per_lang=per_lang(run.results))
        report_runs.append(entry)
    robustness = {}
    for model in dict.fromkeys(r.model for r in runs):
        ok = {r["format"]: r["summary"] for r in report_runs if r["model"] == model and r["status"] == "ok"}
        if len(ok) >= 2:
            robustness[model] = spread(ok)
    return {**meta, "runs": report_runs, "robustness": robustness, "human_rubric": rubric}


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines + [""]


def render_markdown(report: dict[str, Any], charts: list[str]) -> str:
    ok = [r for r in report["runs"] if r["status"] == "ok"]
    labels = [f"{r['model']} · {r['format']}" for r in ok]
    lines = ["# tooltune eval report", ""]
    lines += [f"Data: `{report['data']}` — {report['items']} items ({report['hard_negatives']} hard negatives; "
              + ", ".join(f"{k}: {v}" for k, v in report["langs"].items()) + f"). λ = {report['settings']['lam']:g}, "
              f"greedy, max {report['settings']['max_tokens']} tokens per step"
              + (", tool calls constrained to the offered tools' schemas." if report["settings"].get("constrain") else "."), ""]
    for r in report["runs"]:
        if r["status"] != "ok":
            lines.append(f"- **{r['model']} · {r['format']}: not evaluated** — {r['error']}")
        elif r.get("backend_errors"):
            first = next(iter(r["backend_error_items"].values()))
            lines.append(f"- **{r['model']} · {r['format']}: {r['backend_errors']} items hit backend errors** and are not scored "
                         f"(rerun to retry them; try --batch-size 1 for a server that serves one request at a time) — {first}")
    if len(ok) < len(report["runs"]) or any(r.get("backend_errors") for r in report["runs"]):
        lines.append("")
    if ok:
        lines += ["## Overview", "", "Teacher-forced steps (every reference assistant turn given the gold prefix); "
                  "free-running and end-to-end from the question with tools executed.", ""]
        rows = [[label] + [r["summary"][key] for r in ok] for key, label in HEADLINE]
        rows.append(["steps (call / all)"] + [f"{r['summary']['call_steps']} / {r['summary']['steps']}" for r in ok])
        rows.append(["end-to-end items"] + [r["summary"]["e2e_items"] for r in ok])
        if any("plan_items" in r["summary"] for r in ok):  # only with --plan
            rows += [[label] + [r["summary"].get(key) for r in ok] for key, label in PLAN_ROWS]
        lines += _table(["metric"] + labels, rows)
        if "plan_limits" in report["settings"]:
            limits = ", ".join(f"{k} {v}" for k, v in report["settings"]["plan_limits"].items())
            lines += ["Planned rows: every item with a reference answer and executable tools, run from its question through "
                      f"the Planner (tools executed, no format retries; {limits}). Plan-level success = the run ended complete "
                      "and its final answer matches the reference, as for end-to-end success.", ""]
        lines += [f"![{Path(c).stem}]({c})" for c in charts] + [""]
    for model, metrics in report["robustness"].items():
        lines += [f"## Format robustness: {model}", "", "Spread = best format − worst format; a large spread means the model only works in some prompt formats.", ""]
        lines += _table(["metric", "min", "max", "spread"], [[_LABELS[k], v["min"], v["max"], v["spread"]] for k, v in metrics.items()])
    if ok:
        lines += ["## Per tool", "", "Over the steps whose reference calls the tool; “(no call)” = steps that should not call one, "
                  "counted right when the model gave a valid answer and no call. "
                  "Cells: tool name EM / args EM; spurious = calls of this tool where none was due.", ""]
        tools = list(dict.fromkeys(t for r in ok for t in r["per_tool"]))
        rows = []
        for tool in tools:
            row: list[Any] = [tool]
            for r in ok:
                t = r["per_tool"].get(tool)
                row.append(f"{_fmt(t['tool_name_em'])} / {_fmt(t['args_em'])} (n={t['steps']}, spurious {t['spurious_calls']})" if t else "–")
            rows.append(row)
        lines += _table(["tool"] + labels, rows)
        lines += ["## Per language", ""]
        langs = sorted({lang for r in ok for lang in r["per_lang"]})
        keys = ["format_validity", "tool_name_em", "args_em", "no_call_accuracy", "e2e_success"]
        rows = [[f"{lang}: {_LABELS[k]}"] + [r["per_lang"].get(lang, {}).get(k) for r in ok] for lang in langs for k in keys]
        lines += _table(["language / metric"] + labels, rows)
    lines += _rubric_markdown(report.get("human_rubric"))
    return "\n".join(lines)


def _rubric_markdown(rubric: dict[str, Any] | None) -> list[str]:
    if not rubric or not rubric["scored"]:
        return []
    lines = ["## Human rubric (reference samples)", "",
             f"{rubric['scored']} of {rubric['samples']} samples scored by people (1–5, 0 = violation; 4–5 = usable).", ""]
    rows = [["all", rubric["mean"], rubric["usable_rate"], rubric["violations"], " ".join(f"{k}:{v}" for k, v in rubric["histogram"].items())]]
    rows += [[lang, b["mean"], b["usable_rate"], b["violations"], " ".join(f"{k}:{v}" for k, v in b["histogram"].items())]
             for lang, b in rubric["per_lang"].items()]
    return lines + _table(["", "mean", "usable (4–5)", "violations (0)", "histogram 0..5"], rows)


# -- charts ----------------------------------------------------------------------------------
def _bars(ax: Any, groups: list[str], series: dict[str, list[float | None]], title: str) -> None:
    """Grouped bars, one colour per run; missing values are marked "n/a", zeros labelled "0"."""
    n = max(len(series), 1)
    width = 0.8 / n
    for i, (label, values) in enumerate(series.items()):
        xs = [g + (i - (n - 1) / 2) * width for g in range(len(groups))]
        heights = [v or 0.0 for v in values]
        bars = ax.bar(xs, heights, width, label=label)
        for bar, v in zip(bars, values):
            text = "n/a" if v is None else f"{v:.2f}"
            ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                        fontsize=7, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right", fontsize=9)
    ax.set_ylim(0, 1.3)  # headroom above 1.0 keeps the legend clear of the bars
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_title(title, fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=min(n, 4), frameon=False)


def write_charts(report: dict[str, Any], out_dir: Path) -> list[str]:
    """comparison.png (headline metrics per run) and per_tool.png; returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in report["runs"] if r["status"] == "ok"]
    if not ok:
        return []
    labels = [f"{r['model']} · {r['format']}" for r in ok]
    models = list(dict.fromkeys(r["model"] for r in ok))
    title = f"{models[0]} (base) vs {models[1]} (tuned)" if len(models) == 2 else f"{models[0]}: headline metrics by prompt format"
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(CHART_METRICS) * max(1, len(ok)) / 2), 4.5))
    _bars(ax, [_LABELS[k] for k in CHART_METRICS], {lab: [r["summary"][k] for k in CHART_METRICS] for lab, r in zip(labels, ok)}, title)
    save_png(fig, out_dir / "comparison.png")
    tools = list(dict.fromkeys(t for r in ok for t in r["per_tool"]))
    fig, axes = plt.subplots(1, 2, figsize=(max(10, 2.2 * len(tools) * max(1, len(ok)) / 2), 4.5))
    for ax, key, name in ((axes[0], "tool_name_em", "tool name EM per tool"), (axes[1], "args_em", "args EM (AST) per tool")):
        _bars(ax, tools, {lab: [r["per_tool"].get(t, {}).get(key) for t in tools] for lab, r in zip(labels, ok)}, name)
    save_png(fig, out_dir / "per_tool.png")
    return ["comparison.png", "per_tool.png"]


def write_report(out_dir: str | Path, runs: list[RunOutcome], meta: dict[str, Any], rubric: dict[str, Any] | None) -> dict[str, Any]:
    """Write report.json, report.md and the charts into `out_dir` (each file atomically)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = build_report(runs, meta, rubric)
    charts = write_charts(report, out_dir)
    report["charts"] = charts
    write_text_atomic(out_dir / "report.json", json.dumps(report, ensure_ascii=False, indent=2))
    write_text_atomic(out_dir / "report.md", render_markdown(report, charts))
    return report
