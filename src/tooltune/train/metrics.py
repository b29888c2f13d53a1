"""Training metrics: always a CSV (flushed every row, so a crash loses nothing), plus TensorBoard
and Weights & Biases when they are installed (W&B only when a project or key is configured)."""

from __future__ import annotations

import csv
import importlib.util
import os
from pathlib import Path
from typing import Any

FIELDS = ["step", "epoch", "loss", "grad_norm", "lr", "eval_loss", "tokens", "tokens_per_s", "reward_margin", "reward_accuracy"]


class MetricsLogger:
    def __init__(self, out: Path, report_to: str = "auto", run_name: str | None = None, config: dict[str, Any] | None = None, resume: bool = False) -> None:
        self.path = out / "metrics.csv"
        out.mkdir(parents=True, exist_ok=True)
        fresh = not (resume and self.path.exists())
        self._fh = self.path.open("w" if fresh else "a", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._fh, fieldnames=FIELDS, extrasaction="ignore")
        if fresh:
            self._csv.writeheader()
        self._tb = self._wandb = None
        wanted = {w.strip() for w in report_to.split(",")} if report_to != "auto" else {"auto"}
        if ("tensorboard" in wanted or "auto" in wanted) and importlib.util.find_spec("tensorboard"):
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(out / "tensorboard"))
        auto_wandb = "auto" in wanted and (os.environ.get("WANDB_PROJECT") or os.environ.get("WANDB_API_KEY"))
        if ("wandb" in wanted or auto_wandb) and importlib.util.find_spec("wandb"):
            import wandb

            self._wandb = wandb.init(project=os.environ.get("WANDB_PROJECT", "tooltune"), name=run_name, config=config or {}, resume="allow")

    def log(self, row: dict[str, Any]) -> None:
        self._csv.writerow({k: _fmt(row.get(k)) for k in FIELDS})
        self._fh.flush()
        step = int(row["step"])
        scalars = {k: float(v) for k, v in row.items() if k not in ("step", "epoch") and isinstance(v, (int, float))}
        if self._tb is not None:
            for key, value in scalars.items():
                self._tb.add_scalar(f"train/{key}", value, step)
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)

    def close(self) -> None:
        self._fh.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def _fmt(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def read_metrics(path: Path) -> list[dict[str, float]]:
    """The CSV back as numbers (empty cells dropped)."""
    with path.open(encoding="utf-8") as fh:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(fh)]
