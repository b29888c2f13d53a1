"""The page a specialisation run ends with: before and after on the held-out requests, overall and
per tool, with what the run cost (OUT/report.md, OUT/specialize.png)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tooltune.messages import write_text_atomic

ROWS = [("args_em", "tool + exact arguments"), ("tool_name_em", "tool name"), ("no_call_accuracy", "no call where none is due"),
        ("call_precision", "call precision")]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def summary_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """model label -> its headline numbers and per-tool exact-argument rates."""
    out = {}
    for run in report["runs"]:
        if run["status"] == "ok":
            s = run["summary"]
            out[run["model"]] = {**{k: s.get(k) for k, _ in ROWS}, "items": s["items"],
                                 "per_tool": {t: v.get("args_em") for t, v in run["per_tool"].items() if t != "(no call)"}}
    return out


def write_summary(out: Path, report: dict[str, Any], state: dict[str, Any], seconds: float) -> dict[str, Any]:
    models = summary_of(report)
    before, after = models.get("before", {}), models.get("after", {})
    lines = ["# Specialisation report", "", f"{len(state.get('langs', []))} language(s): {', '.join(state.get('langs', []))}; "
             f"tool prompt {state.get('prompt_tokens')} tokens; whole run {seconds / 60:.1f} minutes.", "",
             "Held-out requests (sentence shapes and values the training side never used), first assistant turn, json format, "
             "constrained decoding:", "", "| | before | after |", "|---|---|---|"]
    lines += [f"| {label} | {_pct(before.get(k))} | {_pct(after.get(k))} |" for k, label in ROWS]
    lines += ["", "Per tool, tool + exact arguments:", "", "| tool | before | after |", "|---|---|---|"]
    for tool in sorted(set(before.get("per_tool", {})) | set(after.get("per_tool", {}))):
        lines.append(f"| {tool} | {_pct(before.get('per_tool', {}).get(tool))} | {_pct(after.get('per_tool', {}).get(tool))} |")
    corpus, train = state.get("corpus", {}), state.get("train", {})
    lines += ["", f"Corpus: {corpus.get('train')} training samples ({', '.join(f'{k} {n}' for k, n in corpus.get('kinds', {}).items())}), "
              f"{corpus.get('held_out')} held out.",
              f"Training: {train.get('steps')} steps, one tree row each (about {train.get('samples_seen')} samples), "
              f"{train.get('minutes')} minutes, {train.get('tokens_per_s')} tokens/s; held-out loss {train.get('eval_loss')}.", "", "![before and after](specialize.png)", "",
              "Use it: `tooltune run \"…\" --tools <the same --tools> --adapter " + str(out / "adapter") + "`", ""]
    write_text_atomic(out / "report.md", "\n".join(lines))
    chart = out / "eval" / "comparison.png"
    if chart.exists():
        shutil.copyfile(chart, out / "specialize.png")
    return {"before": before, "after": after, "minutes": round(seconds / 60, 1)}
