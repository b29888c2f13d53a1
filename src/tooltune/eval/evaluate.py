"""One eval session: models × prompt formats over the same items, resumable, into one report.

Layout of the output folder:
    runs/<model>__<format>.jsonl       per-item results, appended + fsync'ed (the resume point)
    runs/<model>__<format>.meta.json   settings and data fingerprint those results belong to
    report.json, report.md, comparison.png, per_tool.png
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.data.rubric import human_rubric
from tooltune.eval.answers import AnswerJudge
from tooltune.eval.items import EvalItem
from tooltune.eval.report import RunOutcome, write_report
from tooltune.eval.runner import EvalRunner, EvalSettings, load_results
from tooltune.llm.base import LLM
from tooltune.messages import write_text_atomic
from tooltune.tools import ToolRegistry


@dataclass
class ModelSpec:
    """A model to evaluate: a short label for tables and a loader called at most once."""

    label: str
    load: Callable[[], LLM]


def items_fingerprint(items: list[EvalItem]) -> str:
    """A hash of the items' content (order-free), so results of a changed eval set are never resumed."""
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.id):
        digest.update(json.dumps([item.id, item.sample.to_openai(), item.reference_answers, item.answer_match], sort_keys=True).encode())
    return digest.hexdigest()[:16]


def _safe(label: str) -> str:
    return re.sub(r"[^\w.-]+", "_", label).strip("_") or "model"


def prepare_run(run_dir: Path, name: str, fingerprint: dict[str, Any], restart: bool) -> Path:
    """The results path for one run; refuses to resume results made with other settings."""
    results, meta = run_dir / f"{name}.jsonl", run_dir / f"{name}.meta.json"
    if restart:
        results.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
    if meta.exists() and results.exists():
        old = json.loads(meta.read_text(encoding="utf-8"))
        if old != fingerprint:
            changed = sorted(k for k in set(old) | set(fingerprint) if old.get(k) != fingerprint.get(k))
            raise TooltuneError(
                f"{results} holds results made with different settings ({', '.join(changed)}): "
                "pass --restart to discard them, or choose another --out folder"
            )
    write_text_atomic(meta, json.dumps(fingerprint, ensure_ascii=False, indent=2, sort_keys=True))
    return results


def run_eval(
    items: list[EvalItem], models: list[ModelSpec], formats: list[str], settings: EvalSettings, out_dir: str | Path,
    data_name: str, batch_size: int = 4, judge: AnswerJudge | None = None, restart: bool = False, progress: bool = True,
    implementations: ToolRegistry | None = None,
) -> dict[str, Any]:
    """Evaluate every model under every format and write the report; returns the report dict.
    `implementations` binds the items' tools by name for free runs (default: the built-ins)."""
    if judge is None and any(i.answer_match == "judge" and i.reference_answers for i in items):
        raise TooltuneError("some items use answer_match 'judge': pass --judge-model (and --judge-base-url for a server)")
    out_dir = Path(out_dir)
    run_dir = out_dir / "runs"
    run_dir.mkdir(parents=True, exist_ok=True)
    data_hash = items_fingerprint(items)
    outcomes: list[RunOutcome] = []
    for spec in models:
        llm: LLM | None = None
        for fmt in formats:
            run_settings = replace(settings, format=fmt)
            name = f"{_safe(spec.label)}__{fmt}"
            fingerprint = {"model": spec.label, "data": data_hash, **run_settings.to_json()}
            path = prepare_run(run_dir, name, fingerprint, restart)
            outcome = RunOutcome(spec.label, fmt)
            done = load_results(path)
            if all(item.id in done for item in items):  # finished earlier: no model needed
                outcome.results = [done[item.id] for item in items]
                outcomes.append(outcome)
                continue
            llm = llm or spec.load()  # a model that cannot load is the user's error, not the format's
            try:
                runner = EvalRunner(llm, run_settings, batch_size=batch_size, judge=judge, implementations=implementations)
                outcome.results = _run_with_progress(runner, items, path, f"{spec.label} · {fmt}", progress)
                outcome.backend_errors = runner.backend_errors
                if not outcome.results and runner.backend_errors:  # nothing scored: the run failed, say why
                    outcome.status = "failed"
                    outcome.error = f"every item hit a backend error: {next(iter(runner.backend_errors.values()))}"
            except TooltuneError as exc:  # e.g. native on a template without tools: report it, go on
                outcome.status, outcome.error = "failed", str(exc)
            outcomes.append(outcome)
    langs = Counter(item.lang for item in items)
    meta = {
        "data": data_name, "items": len(items), "hard_negatives": sum(not i.expect_tool_call for i in items),
        "langs": dict(sorted(langs.items())), "models": [m.label for m in models], "formats": formats,
        "settings": {k: v for k, v in settings.to_json().items() if k != "format"} | {"batch_size": batch_size},
    }
    scored = [(i.lang, i.human_score) for i in items]
    rubric = human_rubric(scored) if any(s is not None for _, s in scored) else None
    return write_report(out_dir, outcomes, meta, rubric)


def _run_with_progress(runner: EvalRunner, items: list[EvalItem], path: Path, desc: str, progress: bool) -> list[dict[str, Any]]:
    from tqdm import tqdm

    done = sum(1 for item_id in load_results(path) if item_id in {i.id for i in items})
    with tqdm(total=len(items), initial=done, desc=desc, unit="item", disable=not progress, miniters=1, mininterval=0) as bar:
        return runner.run(items, path, on_item=lambda _: bar.update(1))
