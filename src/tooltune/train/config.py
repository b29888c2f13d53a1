"""`TrainConfig`: the settings of one training run, apart from the loop that runs it.

A module without torch, so the CLI, the recipe and the sweep can build and check a config at
start-up; `Trainer` (train/trainer.py) takes one, and `DPOConfig` (train/dpo_config.py) adds the
preference settings to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, TypeVar

from tooltune.configs import config_from
from tooltune.errors import TooltuneError
from tooltune.formats import get_format
from tooltune.llm.embedded import is_adapter_dir
from tooltune.train.dataset import check_corpus_options
from tooltune.train.model import DEFAULT_TARGETS, cuda_bf16
from tooltune.train.schedule import check_scheduler

# auto: bf16 autocast (fp32 master weights) on a GPU that runs bf16, fp32 elsewhere. On this
# project's CPU (AVX-512 BF16 but no AMX) bf16 ran a LoRA step at 0.44-0.65x and a whole training
# call at 0.74x the speed of fp32 (docs/training.md#speed), so CPU stays fp32;
# `--precision bf16` is there for CPUs with AMX (benchmarks/train_throughput.py measures both).
PRECISIONS = ("auto", "fp32", "bf16")

_Config = TypeVar("_Config", bound="TrainConfig")


@dataclass
class TrainConfig:
    data: str | None = None
    model: str | None = None  # HF folder or .gguf; None = the embedded SmolLM2
    out: str = "runs/train"
    format: str = "react"
    lang: str = "auto"  # auto: each sample in its own language (tooltune.lang); en | zh: force one
    lora: bool = True
    rank: int = 8
    alpha: int = 16
    targets: str = DEFAULT_TARGETS
    lr: float = 1e-4
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    overlong: str = "eval"  # samples longer than max_length: eval (held out whole) | drop-turns
    # None = auto: pack on CUDA; on CPU a packed row's block-diagonal mask costs more attention
    # FLOPs than the padding it saves (measured in benchmarks/train_throughput.py).
    pack: bool | None = None
    # Tree rows (train/tree.py): samples that share their system-and-tools prompt train as one row,
    # the prompt computed once; exact, not an approximation. None = auto: on, except where the
    # attention kernel takes no 4-D mask (flash-attention) or with gradient checkpointing. A tree
    # row is a micro-batch of its own; --batch-size rows accumulate into each step.
    tree: bool | None = None
    # False: a tree row's shared prompt runs without gradient (the continuations still see what the
    # current weights compute; nothing flows back into the prompt): lighter and faster, not exact.
    tree_prefix_grad: bool = True
    eval_split: float = 0.1
    eval_steps: int = 0  # 0: evaluate at the end only
    early_stop: int = 0  # stop when the eval loss has not improved for this many evaluations (0: never)
    save_steps: int = 0  # 0: checkpoint at the end only
    save_total_limit: int = 2
    scheduler: str = "cosine"
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    loss_scale: str | None = None
    gradient_checkpointing: bool = False
    compile: bool = False  # torch.compile, CUDA only
    precision: str = "auto"  # one of PRECISIONS
    seed: int = 0
    log_steps: int = 1
    report_to: str = "auto"
    resume: bool = False
    progress: bool = True
    save_model: bool = True
    # Stop (with a checkpoint) after this many minutes of this invocation; `resume` continues.
    # With a constant schedule a run can grow session by session.
    max_minutes: float | None = None
    # With max_minutes: shorten max_steps (and so the cosine or linear decay) to the steps the time
    # left can hold at the pace measured so far, so the schedule still ends at its low rate when
    # the machine is slower than planned, instead of the deadline cutting it off at a high rate.
    fit_deadline: bool = False
    # Continue training this LoRA adapter (a folder with adapter_config.json) instead of a fresh
    # one: recipe v3 grows the shipped adapter on CPU rather than retraining it from nothing.
    init_adapter: str | None = None

    @classmethod
    def of(cls: type[_Config], values: Mapping[str, Any] | Any = None, /, **overrides: Any) -> _Config:
        """The one way to make a training config: the fields named in `values` — a command's
        parameters, another config (the sweep's base run) or a recipe's settings — then
        `overrides` for what the caller translates or fixes; every other field keeps its default."""
        return config_from(cls, values if values is not None else {}, **overrides)

    def validate(self) -> None:
        check_scheduler(self.scheduler)
        for name in ("batch_size", "grad_accum", "max_length"):
            if getattr(self, name) < 1:
                raise TooltuneError(f"--{name.replace('_', '-')} must be at least 1")
        if self.lr <= 0 or self.epochs <= 0:
            raise TooltuneError("--lr and --epochs must be positive")
        check_corpus_options(self.lang, self.overlong, self.eval_split, self.loss_scale)
        if self.init_adapter is not None and not is_adapter_dir(self.init_adapter):
            raise TooltuneError(f"--init-adapter {self.init_adapter}: no LoRA adapter there (adapter_config.json); pass the --out folder of a LoRA run")
        if self.precision not in PRECISIONS:
            raise TooltuneError(f"--precision {self.precision!r}: use one of {', '.join(PRECISIONS)}")
        for name in self.format.split(","):  # unknown format: fail before any weight is loaded
            get_format(name)

    def mixed_precision(self) -> str:
        """accelerate's `mixed_precision` for `precision`: "bf16" (autocast) or "no" (fp32)."""
        if self.precision == "auto":
            return "bf16" if cuda_bf16() else "no"
        return "bf16" if self.precision == "bf16" else "no"
