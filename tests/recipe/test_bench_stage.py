"""BFCL in the recipe's eval stage: base vs tuned, base results reused across adapter steps."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("bfcl_eval", reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23 && pip install -e '.[bfcl]')")

from tooltune.eval.evaluate import ModelSpec  # noqa: E402
from tooltune.llm.base import LLM, Completion, GenerationRequest  # noqa: E402
from tooltune.recipe.bench_stage import bench_stage  # noqa: E402


class Always(LLM):
    def __init__(self, text: str) -> None:
        self.text, self.requests = text, 0

    def complete(self, request: GenerationRequest, on_text=None) -> Completion:
        self.requests += 1
        return Completion(self.text)


def test_bench_stage_scores_both_models_and_reuses_the_base(tmp_path):
    base, tuned = Always("I would rather not."), Always('<tool_call>\n{"name": "nope", "arguments": {}}\n</tool_call>')
    loads = []
    models = [ModelSpec("base", lambda: loads.append("base") or base), ModelSpec("tuned", lambda: loads.append("tuned") or tuned)]
    logs = []
    info = bench_stage(models, tmp_path, "step-000010", 2, "simple_python,irrelevance", logs.append)
    assert info["accuracy"] == {"base": {"simple_python": 0.0, "irrelevance": 100.0}, "tuned": {"simple_python": 0.0, "irrelevance": 0.0}}
    assert info["passed"] == {"base": 2, "tuned": 0}
    assert (tmp_path / "step-000010" / "bfcl-constrained-2" / "bfcl.png").exists()
    meta = json.loads((tmp_path / "step-000010" / "bfcl-constrained-2" / "runs" / "tuned__json.meta.json").read_text())
    assert meta["constrain"] is True  # as `tooltune bench bfcl` runs by default
    assert "[eval] BFCL base: simple_python 0.0%, irrelevance 100.0%" in logs
    info = bench_stage(models, tmp_path, "step-000020", 2, "simple_python,irrelevance", logs.append)
    assert loads == ["base", "tuned", "tuned"]  # a new adapter step: only the tuned model runs again
    assert base.requests == 4 and tuned.requests == 8
    assert bench_stage(models, tmp_path, "step-000020", 0, "simple_python", logs.append) is None
    assert logs[-1] == "[eval] BFCL skipped (--bench-limit 0)"
