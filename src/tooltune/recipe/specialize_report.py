"""The page a specialisation run ends with: before and after on the held-out requests, overall and
per tool, with what the run cost (OUT/report.md, OUT/specialize.png)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tooltune.messages import write_text_atomic

ROWS = [("args_em", "tool + exact arguments"), ("tool_name_em", "tool name"), ("no_call_accuracy", "no call where none is due"),
        ("call_precision", "call precision")]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _loss(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def write_summary(out: Path, state: dict[str, Any], seconds: float) -> dict[str, Any]:
    before, after = state.get("before", {}), state.get("after", {})
    langs = state.get("langs", [])
    lines = ["# Specialisation report", "",
             f"{len(state.get('config', {}).get('tools', []))} tool source(s), request language(s) {', '.join(langs)}; "
             f"tool prompt {state.get('prompt_tokens')} tokens; whole run {seconds / 60:.1f} minutes.", "",
             f"{after.get('items', before.get('items'))} held-out requests, in sentence shapes and with values training never used; "
             "their first reply scored teacher-forced (exact = greedy decoding writes the reference call token for token):", "",
             "| | before | after |", "|---|---|---|"]
    lines += [f"| {label} | {_pct(before.get(k))} | {_pct(after.get(k))} |" for k, label in ROWS]
    lines += ["", "Per tool, tool + exact arguments:", "", "| tool | before | after |", "|---|---|---|"]
    for tool in sorted(set(before.get("per_tool", {})) | set(after.get("per_tool", {}))):
        lines.append(f"| {tool} | {_pct(before.get('per_tool', {}).get(tool))} | {_pct(after.get('per_tool', {}).get(tool))} |")
    corpus, train = state.get("corpus", {}), state.get("train", {})
    lines += ["", f"Corpus: {corpus.get('train')} training samples ({', '.join(f'{k} {n}' for k, n in corpus.get('kinds', {}).items())}), "
              f"{corpus.get('held_out')} held out.",
              f"Training: {train.get('steps')} steps of one tree row each (about {train.get('samples_seen')} samples), "
              f"{train.get('minutes')} minutes, {train.get('tokens_per_s')} tokens/s counting the shared prompt once a row; "
              f"held-out loss {_loss(train.get('eval_loss'))}.", "",
              "![before and after](specialize.png)", "",
              f"Use it: `tooltune run \"…\" --format json --tools <the same --tools> --adapter {out / 'adapter'}`", ""]
    write_text_atomic(out / "report.md", "\n".join(lines))
    _chart(out / "specialize.png", before, after)
    return {"before": before, "after": after, "minutes": round(seconds / 60, 1)}


def _chart(path: Path, before: dict[str, Any], after: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tooltune.charts import save_png
    from tooltune.eval.report import _bars

    tools = sorted(set(before.get("per_tool", {})) | set(after.get("per_tool", {})))
    fig, axes = plt.subplots(1, 2, figsize=(max(10, 4 + 0.9 * len(tools)), 4.5), gridspec_kw={"width_ratios": [1, max(1, len(tools) / 3)]})
    _bars(axes[0], [label for _, label in ROWS[:3]], {"before": [before.get(k) for k, _ in ROWS[:3]], "after": [after.get(k) for k, _ in ROWS[:3]]},
          "held-out requests")
    _bars(axes[1], tools, {"before": [before.get("per_tool", {}).get(t) for t in tools], "after": [after.get("per_tool", {}).get(t) for t in tools]},
          "tool + exact arguments, per tool")
    save_png(fig, path)
