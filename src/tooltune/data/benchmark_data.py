"""Installed benchmark data (BFCL's items live in the bfcl_eval package) is for evaluation only.

A number measured on items the model was trained on says nothing, so no such file enters a corpus:
every place where files become corpus or training rows — `tooltune import`, reading preference
pairs, `tooltune pairs mine`, the training set — asks this one module first.
"""

from __future__ import annotations

from pathlib import Path

from tooltune.errors import TooltuneError

BENCHMARK_PACKAGES = ("bfcl_eval",)


def refuse_benchmark_data(path: str | Path) -> None:
    """Raise if `path` lies inside an installed benchmark package; called where files become corpus."""
    hit = next((part for part in Path(path).resolve().parts if part in BENCHMARK_PACKAGES), None)
    if hit:
        raise TooltuneError(f"{path} is benchmark data ({hit}): it is for evaluation only and never enters a corpus or training")
