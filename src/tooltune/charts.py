"""Saving a chart: every PNG the project draws (eval reports, benchmarks, sweeps, the recipe
summary, the specialise report) is written here, so training and evaluation share it without
importing each other."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def save_png(fig: Any, path: Path) -> None:
    """Through a temp file and rename, like every other output, so no half-written PNG remains."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    os.replace(tmp, path)
