"""What a training run minimises, apart from the loop that minimises it.

`Trainer` (train/trainer.py) owns the one loop — accelerate, accumulation across micro-batches and
ranks, clipping, schedule, checkpoints, `--resume`, time budget, Ctrl-C, metrics, evaluation. An
objective says what the loop runs on: which rows it trains on, the module handed to accelerate,
the tensors of a micro-batch, and the sums of a micro-batch's output — the loss first, then any
metrics — together with the count the step averages them over. SFT (below) sums token losses
over trained tokens; DPO (train/dpo.py) sums per-pair preference losses over pairs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from tooltune.train.config import TrainConfig


class Prepared(Protocol):
    """What an objective's `start` sees of the trainer once the model is ready: the trainer
    implements it, and this module need not import the trainer (which imports this module)."""

    cfg: TrainConfig
    model: Any
    tokenizer: Any
    corpus: Any
    rows: list[Any]
    eval_rows: list[Any]


class Objective(Protocol):
    metrics: tuple[str, ...]  # names of the sums after the loss, logged as their mean per step

    def base_model(self, cfg: TrainConfig) -> str | None:
        """The base model to load (None: the embedded one)."""

    def corpus(self, cfg: TrainConfig, tokenizer: Any, samples: Any) -> Any:
        """The examples, with `.train`, `.eval` and `.counts()`."""

    def rows(self, examples: list[Any], cfg: TrainConfig, trees: bool, packed: bool) -> list[Any]:
        """The rows the loop shuffles and batches."""

    def loaded(self, model: Any, cfg: TrainConfig) -> Any:
        """The loaded weights, before the trainer adds LoRA (or not)."""

    def start_adapter(self, cfg: TrainConfig) -> tuple[str, str] | None:
        """(folder, the option that named it) of the LoRA adapter to train further; None: a fresh one."""

    def module(self, model: Any, cfg: TrainConfig) -> Any:
        """The nn.Module handed to accelerate."""

    def batch(self, rows: list[Any], pad_id: int) -> dict[str, Any]:
        """The module's keyword tensors for `rows`, plus `real_tokens` (an int)."""

    def count(self, rows: list[Any], batch: dict[str, Any]) -> int:
        """What the loss of `rows` is averaged over (trained tokens, pairs)."""

    def sums(self, output: Any, rows: list[Any]) -> Any:
        """A 1-D tensor: the loss summed over `rows` (with its graph), then each metric's sum."""

    def start(self, trainer: Prepared) -> dict[str, Any]:
        """Runs once the model is ready; returns keys for the saved run record."""


class SFT:
    """Supervised fine-tuning: the (weighted) token losses summed over trained tokens
    (`LossModel`), averaged over the step's trained tokens on all ranks."""

    metrics: tuple[str, ...] = ()

    def base_model(self, cfg: TrainConfig) -> str | None:
        return cfg.model

    def corpus(self, cfg: TrainConfig, tokenizer: Any, samples: Any) -> Any:
        from tooltune.train.dataset import prepare_corpus

        return prepare_corpus(cfg, tokenizer, samples)

    def rows(self, examples: list[Any], cfg: TrainConfig, trees: bool, packed: bool) -> list[Any]:
        from tooltune.train.packing import make_rows
        from tooltune.train.tree import tree_rows

        return tree_rows(examples, cfg.max_length) if trees else make_rows(examples, cfg.max_length, packed)

    def loaded(self, model: Any, cfg: TrainConfig) -> Any:
        return model

    def start_adapter(self, cfg: TrainConfig) -> tuple[str, str] | None:
        return (cfg.init_adapter, "--init-adapter") if cfg.init_adapter else None

    def module(self, model: Any, cfg: TrainConfig) -> Any:
        from tooltune.train.loss import LossModel

        return LossModel(model, prefix_grad=cfg.tree_prefix_grad)

    def batch(self, rows: list[Any], pad_id: int) -> dict[str, Any]:
        from tooltune.train.packing import collate

        return collate(rows, pad_id)

    def count(self, rows: list[Any], batch: dict[str, Any]) -> int:
        return int((batch["labels"][:, 1:] != -100).sum())

    def sums(self, output: Any, rows: list[Any]) -> Any:
        return output[0].reshape(1)

    def start(self, trainer: Prepared) -> dict[str, Any]:
        return {}


def to_device(batch: Any, device: Any) -> Any:
    """A batch's tensors on `device`, through nested dicts and lists (tree batches)."""
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, list):
        return [to_device(v, device) for v in batch]
    return batch.to(device) if hasattr(batch, "to") else batch
