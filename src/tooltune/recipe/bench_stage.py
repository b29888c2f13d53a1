"""BFCL in the recipe's eval stage: base vs tuned on tools other people wrote.

The recipe's own held-out set is made by the generator that made the training corpus, so it
cannot tell whether the adapter generalises; BFCL beside it can. Skipped, with the reason in the
log and the stage's record, when `bench_limit` is 0 or bfcl-eval is not installed — the held-out
eval still runs. Decoding is constrained, as `tooltune bench bfcl`'s default. Results live under
eval/<step>/bfcl-constrained-<limit>/ and resume like any bench run; the
base model's results are reused across adapter steps (they never change).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.eval.evaluate import ModelSpec


def bench_stage(models: list[ModelSpec], eval_dir: Path, step: str, limit: int, categories: str,
                log: Callable[[str], None]) -> dict[str, Any] | None:
    """Run BFCL on `models` (the first is kept for reuse across steps); returns the report path,
    {model: {category: accuracy %}} and {model: items right}, or None if skipped."""
    if limit < 1:
        log("[eval] BFCL skipped (--bench-limit 0)")
        return None
    from tooltune.eval.bench import BenchSettings, run_bench
    from tooltune.eval.bench_report import write_report
    from tooltune.eval.bfcl import load_items, parse_categories

    names = parse_categories(categories)
    try:
        items = load_items(names, limit=limit)
    except TooltuneError as exc:  # bfcl-eval missing: say so, keep the rest of the eval
        log(f"[eval] BFCL skipped: {exc}")
        return {"skipped": str(exc)}
    # constrained, as `tooltune bench bfcl` runs by default: the recipe measures what users get
    # (results of the free-decoding stage before it, in bfcl-N/, are kept apart)
    name = f"bfcl-constrained-{limit}"
    out, base_keep = eval_dir / step / name, eval_dir / "base" / name
    if base_keep.exists() and not (out / "runs").exists():
        shutil.copytree(base_keep, out / "runs", dirs_exist_ok=True)
    settings = BenchSettings(format="json", constrain=True)
    runs = run_bench(items, models, settings, out, batch_size=8)
    report = write_report(out, runs, names, settings, {"limit": limit, "seed": 0})
    base_keep.mkdir(parents=True, exist_ok=True)
    for f in (out / "runs").glob(f"{models[0].label}__*"):
        shutil.copy2(f, base_keep / f.name)
    table = {run["model"]: {c: s["accuracy"] for c, s in run["summary"].items()} for run in report["runs"]}
    for model, scores in table.items():
        log(f"[eval] BFCL {model}: " + ", ".join(f"{c} {v}%" for c, v in scores.items()))
    passed = {run["model"]: sum(s["passed"] for s in run["summary"].values()) for run in report["runs"]}
    return {"report": str(out / "report.md"), "accuracy": table, "passed": passed}
