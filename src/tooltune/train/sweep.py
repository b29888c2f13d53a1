"""Learning-rate sweeps: short identical trainings that differ only in the learning rate (and,
optionally, the loss scale), drawn as one PNG of loss and grad-norm curves plus one CSV. The
seeds picked 1e-5 this way: the largest rate whose loss falls smoothly without grad-norm spikes."""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.messages import write_text_atomic
from tooltune.train.config import TrainConfig
from tooltune.train.trainer import TrainResult, train


def parse_lrs(text: str) -> list[float]:
    try:
        lrs = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise TooltuneError(f"--lrs {text!r}: give comma-separated numbers such as 1e-5,5e-5,1e-4") from None
    if not lrs or any(lr <= 0 for lr in lrs):
        raise TooltuneError("--lrs needs at least one positive learning rate")
    return lrs


def run_sweep(
    base: TrainConfig, lrs: list[float], loss_scales: list[str | None] | None = None,
    model: Any = None, tokenizer: Any = None, samples: Any = None,
) -> tuple[Path, Path, dict[str, TrainResult]]:
    """Train once per (lr, loss scale) from the same starting weights; return (png, csv, results).
    A model object is deep-copied per run so every run starts from identical weights."""
    out = Path(base.out)
    results: dict[str, TrainResult] = {}
    for scale in loss_scales or [base.loss_scale]:
        for lr in lrs:
            label = f"lr={lr:g}" + (f" scale={scale}" if scale else "")
            run_dir = out / label.replace("=", "").replace(" ", "_")
            cfg = base.of(base, lr=lr, loss_scale=scale, out=str(run_dir), resume=False, save_model=False, save_steps=0)
            run_model = copy.deepcopy(model) if model is not None else None
            results[label] = train(cfg, run_model, tokenizer, samples)
            _clear_checkpoints(run_dir)
    csv_path, png_path = out / "sweep.csv", out / "sweep.png"
    write_sweep_csv(csv_path, results)
    plot_sweep(png_path, results, title=f"LR sweep: {base.model or 'embedded SmolLM2-135M'}, {'LoRA' if base.lora else 'full'}, {base.format}")
    return png_path, csv_path, results


def _clear_checkpoints(run_dir: Path) -> None:
    """Sweep runs are throw-away: keep their metrics, not their optimizer states."""
    import shutil

    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)


def write_sweep_csv(path: Path, results: dict[str, TrainResult]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["run", "step", "loss", "grad_norm", "lr", "eval_loss"])
    for label, res in results.items():
        for row in res.history:
            writer.writerow([label, row["step"], f"{row['loss']:.6g}", f"{row['grad_norm']:.6g}", f"{row['lr']:.6g}",
                             "" if row.get("eval_loss") is None else f"{row['eval_loss']:.6g}"])
    write_text_atomic(path, buf.getvalue())


def plot_sweep(path: Path, results: dict[str, TrainResult], title: str) -> None:
    """Loss (with the final eval loss as a marker) and grad norm per run, step on the x axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_grad) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label, res in results.items():
        steps = [r["step"] for r in res.history]
        line, = ax_loss.plot(steps, [r["loss"] for r in res.history], label=label, marker=".")
        ax_grad.plot(steps, [r["grad_norm"] for r in res.history], label=label, marker=".", color=line.get_color())
        if res.eval_loss is not None:
            ax_loss.scatter([steps[-1]], [res.eval_loss], marker="*", s=140, color=line.get_color(), edgecolors="black", zorder=3)
    ax_loss.set(title="training loss (★ = held-out eval loss)", xlabel="optimizer step", ylabel="loss (trained tokens)")
    ax_grad.set(title="gradient norm (before clipping)", xlabel="optimizer step", ylabel="grad norm")
    ax_grad.set_yscale("log")
    for ax in (ax_loss, ax_grad):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    from tooltune.charts import save_png

    save_png(fig, path)
