"""The SFT loop: one-pass multi-turn labels, packing, LoRA or full, accumulation, checkpoints.

Written on `accelerate` so the same loop runs on CPU, one GPU (bf16 autocast, fused AdamW,
optional torch.compile) and, through `accelerate launch --config_file configs/...`, on several
GPUs or machines with DDP, FSDP or DeepSpeed ZeRO-3. The loss of an optimizer step is the sum of
token losses over all its micro-batches (and ranks) divided by their trained-token count, so the
result does not depend on how tokens fall into micro-batches.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.messages import Sample
from tooltune.train.config import TrainConfig
from tooltune.train.interrupt import graceful_stop
from tooltune.llm.loading import attach_adapter, load_tokenizer
from tooltune.train.dataset import Corpus, Example
from tooltune.train.engine import accelerator, engine_mismatch
from tooltune.train.metrics import MetricsLogger
from tooltune.train.model import apply_lora, load_training_model, save_trained, tree_masks_supported
from tooltune.train.objective import SFT, Objective, to_device
from tooltune.train.packing import PackStats, batches, stats
from tooltune.train.schedule import fitted_total, make_scheduler


@dataclass
class TrainResult:
    out: Path
    steps: int
    history: list[dict[str, Any]] = field(default_factory=list)
    eval_loss: float | None = None
    tokens_per_s: float = 0.0
    real_tokens: int = 0
    pack: PackStats | None = None
    corpus_info: dict[str, int] = field(default_factory=dict)


def _micro_batches(rows: list[list[Example]], cfg: TrainConfig, rank: int, world: int) -> Iterator[tuple[float, list[list[Example]]]]:
    """Endless (epoch progress, micro-batch) stream, sharded across ranks, same order on resume."""
    epoch = 0
    while True:
        epoch_batches = batches(rows, cfg.batch_size, cfg.seed, epoch)
        usable = max(world, len(epoch_batches) - len(epoch_batches) % world)
        epoch_batches = (epoch_batches * world)[:usable]
        mine = epoch_batches[rank::world]
        for i, mb in enumerate(mine):
            yield epoch + (i + 1) / len(mine), mb
        epoch += 1


def checkpoints(out: Path) -> list[Path]:
    return sorted((out / "checkpoints").glob("step-*"))


class Trainer:
    """The one training loop; `objective` says what it minimises (train/objective.py): SFT by
    default, DPO through `train.dpo.dpo_trainer`. `samples` are what the objective's corpus is
    built from (SFT: samples; DPO: pairs)."""

    def __init__(self, cfg: TrainConfig, model: Any = None, tokenizer: Any = None, samples: list[Any] | None = None,
                 corpus: Corpus | None = None, objective: Objective | None = None) -> None:
        cfg.validate()
        self.cfg = cfg
        self.objective: Objective = objective or SFT()
        self.out = Path(cfg.out)
        base = self.objective.base_model(cfg)
        self.base_model_path = str(Path(base).resolve()) if base else None
        self.base_is_embedded = model is None and base is None
        # Tokenizer, then corpus, then weights: bad data fails in seconds, before the model loads.
        tokenizer = tokenizer if tokenizer is not None else load_tokenizer(base)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.tokenizer = tokenizer
        # a caller with its own rendering (e.g. a mix of formats) passes `corpus`
        self.corpus: Any = corpus if corpus is not None else self.objective.corpus(cfg, tokenizer, samples)
        if model is None:
            model = load_training_model(base)
        import torch

        packed = cfg.pack if cfg.pack is not None else torch.cuda.is_available()
        self.trees = self._use_trees(model)
        if self.trees:  # a tree row is a micro-batch of its own: --batch-size rows accumulate into a step
            self.cfg = cfg = cfg.of(cfg, batch_size=1, grad_accum=cfg.grad_accum * cfg.batch_size)
        self.rows = self.objective.rows(self.corpus.train, cfg, self.trees, packed)
        self.eval_rows = self.objective.rows(self.corpus.eval, cfg, self.trees, packed)
        from accelerate.utils import set_seed

        set_seed(cfg.seed)  # LoRA's A matrices are random: same seed, same adapter init
        self.model = self._prepare_model(self.objective.loaded(model, cfg))
        # more keys for the saved run record (DPO: its reference and beta, after scoring the reference)
        self.extra_info: dict[str, Any] = self.objective.start(self)

    def _use_trees(self, model: Any) -> bool:
        """Tree rows unless turned off, or the model's attention kernel takes no 4-D mask (then
        plain rows, said once)."""
        if self.cfg.tree is False:
            return False
        if not tree_masks_supported(model):
            print("note: flash-attention takes no 4-D mask; training on plain rows instead of tree rows", file=sys.stderr, flush=True)
            return False
        if self.cfg.gradient_checkpointing:
            print("note: gradient checkpointing keeps no key/value cache; training on plain rows instead of tree rows", file=sys.stderr, flush=True)
            return False
        return True

    def _prepare_model(self, model: Any) -> Any:
        cfg = self.cfg
        if cfg.gradient_checkpointing:
            if hasattr(model, "activation_checkpointing_enable"):  # transformers >= 5.2x name
                model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
            else:
                model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.config.use_cache = False
        if cfg.lora:
            model = self._add_adapter(model)
            if cfg.gradient_checkpointing:
                model.enable_input_require_grads()
        model.train()
        return model

    def _add_adapter(self, model: Any) -> Any:
        """The trainable LoRA layers: a fresh adapter, or the objective's (`--init-adapter`,
        DPO's `--ref`) trained further."""
        start = self.objective.start_adapter(self.cfg)
        if start:
            return attach_adapter(model, *start)
        return apply_lora(model, self.cfg.rank, self.cfg.alpha, self.cfg.targets)

    def steps_per_epoch(self, world: int = 1) -> int:
        n_batches = math.ceil(len(self.rows) / self.cfg.batch_size)
        return max(1, math.ceil(n_batches / world / self.cfg.grad_accum))

    def total_steps(self, world: int = 1) -> int:
        return self.cfg.max_steps or max(1, math.ceil(self.cfg.epochs * self.steps_per_epoch(world)))

    def run(self) -> TrainResult:
        import torch
        from accelerate.utils import set_seed

        cfg = self.cfg
        set_seed(cfg.seed)
        acc = accelerator(cfg.mixed_precision(), cpu=not torch.cuda.is_available())
        mismatch = engine_mismatch(dict(os.environ), acc.distributed_type.name)
        if mismatch and acc.is_main_process:
            print(f"warning: {mismatch}", file=sys.stderr, flush=True)
        total = self.total_steps(acc.num_processes)
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=torch.cuda.is_available())
        self.horizon = [total]  # the scheduler's last step; fit_deadline may shorten it
        scheduler = make_scheduler(optimizer, cfg.scheduler, self.horizon, warmup=round(cfg.warmup_ratio * total))
        loss_model: Any = self.objective.module(self.model, cfg)
        if cfg.compile and torch.cuda.is_available():
            loss_model = torch.compile(loss_model, dynamic=True)
        loss_model, optimizer = acc.prepare(loss_model, optimizer)
        step = self._maybe_resume(acc, scheduler)
        logger = MetricsLogger(self.out, cfg.report_to, self.out.name, asdict(cfg), resume=step > 0) if acc.is_main_process else None
        stream = _micro_batches(self.rows, cfg, acc.process_index, acc.num_processes)
        for _ in range(step * cfg.grad_accum):  # replay the data order up to the checkpoint
            next(stream)
        pack = stats(batches(self.rows, cfg.batch_size, cfg.seed, 0))
        bar = progress_bar(total, step, cfg.progress and acc.is_main_process)
        deadline = time.monotonic() + 60 * cfg.max_minutes if cfg.max_minutes else None
        with graceful_stop() as interrupted:
            step, history, real_tokens, train_seconds, eval_loss = self._loop(
                acc, loss_model, optimizer, scheduler, params, stream, step, total, deadline, interrupted, logger, bar)
        if interrupted.is_set() and acc.is_main_process:
            print(f"stopped at step {step}: checkpoint saved under {self.out / 'checkpoints'}; rerun with --resume to continue",
                  file=sys.stderr, flush=True)
        if cfg.save_model:
            state_dict = None
            if acc.distributed_type.name in ("FSDP", "DEEPSPEED"):  # gather the shards (every rank takes part)
                gathered = acc.get_state_dict(loss_model)
                state_dict = {k.removeprefix("model."): v for k, v in gathered.items()} if gathered else None
            if acc.is_main_process:
                self._save_final(acc.unwrap_model(loss_model), history, eval_loss, state_dict)
        acc.wait_for_everyone()
        info = self.corpus.counts()
        return TrainResult(self.out, step, history, eval_loss, real_tokens / train_seconds if train_seconds else 0.0, real_tokens, pack, info)

    def _loop(self, acc: Any, loss_model: Any, optimizer: Any, scheduler: Any, params: list[Any], stream: Iterator[Any], step: int,
              total: int, deadline: float | None, interrupted: Any, logger: Any, bar: Any) -> tuple[int, list[dict[str, Any]], int, float, float | None]:
        """Optimizer steps until `total`, the time budget or an interrupt; each of the last two
        ends with a checkpoint at the step reached. Returns (step, history, real tokens, seconds, eval loss)."""
        cfg = self.cfg
        history: list[dict[str, Any]] = []
        real_tokens, train_seconds, eval_loss = 0, 0.0, None
        best, stale = math.inf, 0
        begun, first = time.monotonic(), step
        try:
            while step < total:
                started = time.perf_counter()
                group = [next(stream) for _ in range(cfg.grad_accum)]
                loss, step_tokens, extra = self._accumulate(acc, loss_model, [mb for _, mb in group])
                grad_norm = acc.clip_grad_norm_(params, cfg.max_grad_norm if cfg.max_grad_norm > 0 else float("inf"))
                lr = scheduler.get_last_lr()[0]
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                train_seconds += time.perf_counter() - started
                real_tokens += step_tokens
                row = {"step": step, "epoch": round(group[-1][0], 4), "loss": loss, "grad_norm": float(grad_norm), "lr": lr,
                       "tokens": real_tokens, "tokens_per_s": real_tokens / train_seconds, **extra}
                if (cfg.eval_steps and step % cfg.eval_steps == 0) or step == total:
                    eval_loss = self.evaluate(loss_model, acc)
                    row["eval_loss"] = eval_loss
                    if eval_loss is not None:
                        best, stale = (eval_loss, 0) if eval_loss < best else (best, stale + 1)
                if not math.isfinite(loss):
                    raise TooltuneError(f"loss became {loss} at step {step}: lower --lr (now {cfg.lr:g})")
                history.append(row)
                if logger and (step % cfg.log_steps == 0 or step == total or "eval_loss" in row):
                    logger.log(row)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", tok_s=f"{row['tokens_per_s']:.0f}")
                if deadline is not None and cfg.fit_deadline and step < total:
                    now = time.monotonic()
                    total = self.horizon[0] = fitted_total(step, total, (now - begun) / (step - first), deadline - now)
                    if bar is not None:
                        bar.total = total
                stop_now = ((deadline is not None and time.monotonic() > deadline) or interrupted.is_set()
                            or bool(cfg.early_stop and stale >= cfg.early_stop))
                if (cfg.save_steps and step % cfg.save_steps == 0) or step == total or stop_now:
                    self._save_checkpoint(acc, scheduler, step)
                if stop_now:
                    break
        finally:
            if bar is not None:
                bar.close()
            if logger:
                logger.close()
        return step, history, real_tokens, train_seconds, eval_loss

    def _accumulate(self, acc: Any, loss_model: Any, micro_batches: list[list[Any]]) -> tuple[float, int, dict[str, float]]:
        """Forward and backward over one optimizer step's micro-batches (gradients accumulate).
        Returns (the step's loss, real tokens processed on all ranks, the objective's metrics);
        each is its sum over the step divided by the step's count (trained tokens, pairs)."""
        import torch

        objective = self.objective
        tensors = [objective.batch(mb, self.tokenizer.pad_token_id) for mb in micro_batches]
        n_local = sum(objective.count(mb, t) for mb, t in zip(micro_batches, tensors))
        # Ranks hold different counts: every rank divides by the global count (one all-reduce for
        # both numbers), so a token (or a pair) weighs the same on whichever rank it lands.
        counts = torch.tensor([n_local, sum(t.pop("real_tokens") for t in tensors)], device=acc.device)
        n_global, real_global = (int(x) for x in acc.reduce(counts, "sum").tolist())
        sums = torch.zeros(1 + len(objective.metrics), device=acc.device)
        for i, (mb, t) in enumerate(zip(micro_batches, tensors)):
            sync = nullcontext() if i == len(tensors) - 1 else acc.no_sync(loss_model)
            with sync, acc.autocast():
                part = objective.sums(loss_model(**to_device(t, acc.device)), mb)
                acc.backward(part[0] * acc.num_processes / max(n_global, 1))
            sums += part.detach()
        loss, *metrics = (x / max(n_global, 1) for x in acc.reduce(sums, "sum").tolist())
        return loss, real_global, dict(zip(objective.metrics, metrics))

    def evaluate(self, loss_model: Any, acc: Any) -> float | None:
        """Held-out loss: the objective's loss averaged over its count on the eval split (None without one)."""
        import torch

        if not self.eval_rows:
            return None
        scorer = acc.unwrap_model(loss_model)  # no DDP collectives: ranks may score different numbers of rows
        scorer.eval()
        total = torch.zeros((), device=acc.device)
        count = torch.zeros((), device=acc.device)
        with torch.no_grad(), acc.autocast():
            # Rank r takes batches r, r + world, ...: disjoint, and together every eval row once.
            for i in range(acc.process_index * self.cfg.batch_size, len(self.eval_rows), acc.num_processes * self.cfg.batch_size):
                rows = self.eval_rows[i:i + self.cfg.batch_size]
                t = self.objective.batch(rows, self.tokenizer.pad_token_id)
                t.pop("real_tokens")
                part = self.objective.sums(scorer(**to_device(t, acc.device)), rows)
                total, count = total + part[0].float(), count + self.objective.count(rows, t)
        scorer.train()
        return float(acc.reduce(total, "sum").item() / max(acc.reduce(count, "sum").item(), 1))

    def _save_checkpoint(self, acc: Any, scheduler: Any, step: int) -> None:
        """accelerate's state (model, optimizer, RNG) + scheduler + step, renamed into place."""
        import torch

        final = self.out / "checkpoints" / f"step-{step:06d}"
        tmp = final.with_name(final.name + ".tmp")
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
        acc.wait_for_everyone()
        acc.save_state(str(tmp))
        if acc.is_main_process:
            torch.save(scheduler.state_dict(), tmp / "scheduler_tooltune.pt")
            if self.cfg.lora:  # the adapter alone (MBs), usable without the accelerate state
                acc.unwrap_model(self.model).save_pretrained(tmp / "adapter")
            (tmp / "trainer_state.json").write_text(json.dumps({"step": step}), encoding="utf-8")
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            for old in checkpoints(self.out)[: -self.cfg.save_total_limit]:
                shutil.rmtree(old, ignore_errors=True)
        acc.wait_for_everyone()

    def _maybe_resume(self, acc: Any, scheduler: Any) -> int:
        import torch

        if not self.cfg.resume:
            return 0
        found = checkpoints(self.out)
        if not found:
            raise TooltuneError(f"--resume: no checkpoint under {self.out / 'checkpoints'}; run without --resume first")
        latest = found[-1]
        acc.load_state(str(latest))
        scheduler.load_state_dict(torch.load(latest / "scheduler_tooltune.pt", weights_only=True))
        return int(json.loads((latest / "trainer_state.json").read_text(encoding="utf-8"))["step"])

    def _save_final(self, loss_model: Any, history: list[dict[str, Any]], eval_loss: float | None, state_dict: Any = None) -> None:
        model = getattr(loss_model, "_orig_mod", loss_model).model
        model.config.use_cache = True
        info = {
            "base_model": self.base_model_path, "base_is_embedded": self.base_is_embedded, "format": self.cfg.format,
            "lang": self.cfg.lang, "lora": self.cfg.lora, "config": asdict(self.cfg), "steps": len(history),
            "final_loss": history[-1]["loss"] if history else None, "eval_loss": eval_loss, **self.extra_info,
        }
        save_trained(model, self.tokenizer, self.out, info, state_dict)


def progress_bar(total: int, start: int, enabled: bool, desc: str = "training", unit: str = "step") -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, desc=desc, unit=unit, dynamic_ncols=True)


def train(cfg: TrainConfig, model: Any = None, tokenizer: Any = None, samples: list[Sample] | None = None) -> TrainResult:
    """Build the dataset, train, save. `model`/`tokenizer` objects skip loading (tests)."""
    return Trainer(cfg, model, tokenizer, samples).run()
