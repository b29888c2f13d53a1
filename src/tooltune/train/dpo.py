"""Preference training (DPO) on step pairs, run by the SFT trainer's own loop.

Why tooltune's own loop and not TRL's `DPOTrainer`: TRL is not installed by `make install` (only
the `bench` extra pulls it), and its trainer renders rows with the model's chat template, not with
the prompt formats (react / json) the agent prompts with. Here a pair is scored exactly as SFT
trains and the agent prompts: `build_step_example` renders prompt + step through the format and
`ChatRenderer`, labels only the step's tokens, and everything else — accelerate, LoRA,
checkpoints, `--resume`, time budget, Ctrl-C, metrics, progress bar — is `Trainer`'s.

The loss is the sigmoid DPO loss of Rafailov et al. (2023):
    -log σ(β · ((log π(c) − log π_ref(c)) − (log π(r) − log π_ref(r))))
over the summed log-probabilities of the chosen (c) and rejected (r) step tokens. With
`--nll-weight α > 0` the chosen step's mean token NLL is added, α · (−log π(c) / |c|) — RPO (Pang
et al., 2024; TRL's `rpo_alpha`). Plain DPO only asks that c gain on r, and both may fall: on our
first run (lr 2e-4) the chosen steps' own end-of-turn lost mass and the model kept calling until
its token budget ran out; the NLL term holds the chosen step itself up.

The reference is `--ref`: an SFT adapter (the policy starts as that adapter and keeps training
it, so the result loads wherever the SFT adapter loads) or `base` (a fresh LoRA on the base
model). Either way the policy starts equal to the reference, so the reference log-probabilities
are computed once, before the first step and before a resumed checkpoint is loaded: exact, and no
second model in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooltune.data.pairs import StepPair, read_pairs
from tooltune.errors import TooltuneError
from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.lang import dialogue_lang
from tooltune.llm.loading import apply_adapter, attach_adapter, load_tokenizer
from tooltune.train.dataset import IGNORE, Example, build_step_example, split_eval
from tooltune.train.loss import LossModel
from tooltune.train.model import RUN_INFO, load_training_model
from tooltune.train.packing import collate
from tooltune.train.dpo_config import DPOConfig
from tooltune.train.fork import fork, fork_batch, forks_supported
from tooltune.train.trainer import Trainer, progress_bar


@dataclass
class PairExample:
    """A pair rendered in one format; `ref_*` are the reference model's summed step log-probs."""

    chosen: Example
    rejected: Example
    ref_chosen: float = 0.0
    ref_rejected: float = 0.0
    source: int = 0  # index of the pair in the input

    def __len__(self) -> int:
        return len(self.chosen) + len(self.rejected)


@dataclass
class PairCorpus:
    train: list[PairExample]
    eval: list[PairExample] = field(default_factory=list)
    pairs: int = 0
    identical: int = 0  # chosen == rejected: nothing to prefer
    overlong: int = 0  # a side longer than max_length: left out, never cut

    def counts(self) -> dict[str, int]:
        return {"pairs": self.pairs, "train": len(self.train), "eval": len(self.eval), "identical_dropped": self.identical,
                "overlong_dropped": self.overlong}


def build_pair_corpus(pairs: list[StepPair], tokenizer: Any, formats: str = "react", lang: str = "auto", max_length: int = 1024,
                      eval_split: float = 0.0, seed: int = 0) -> PairCorpus:
    """Each pair rendered in every format of `formats` (comma-separated) and in its own language
    (or `lang`). A pair whose two steps are the same — as messages or as tokens — teaches
    nothing and is dropped with a count; so is one that does not fit `max_length`."""
    renderer = ChatRenderer(tokenizer)
    examples: list[PairExample] = []
    identical = overlong = 0
    for i, pair in enumerate(pairs):
        if pair.same_step:
            identical += 1
            continue
        pair_lang = dialogue_lang([*pair.prompt, pair.chosen]) if lang == "auto" else lang
        for name in formats.split(","):
            fmt = get_format(name.strip(), pair_lang)
            chosen = build_step_example(pair.prompt, pair.chosen, pair.tools, fmt, renderer)
            rejected = build_step_example(pair.prompt, pair.rejected, pair.tools, fmt, renderer)
            if (chosen.input_ids, chosen.labels) == (rejected.input_ids, rejected.labels):
                identical += 1
            elif max(len(chosen), len(rejected)) > max_length:
                overlong += 1
            else:
                examples.append(PairExample(chosen, rejected, source=i))
    if not examples:
        raise TooltuneError(f"none of the {len(pairs)} pairs is usable ({identical} with chosen == rejected, {overlong} over "
                            f"--max-length {max_length}): check the pairs or raise --max-length")
    train, held = split_eval(examples, eval_split, seed)
    return PairCorpus(train, held, len(pairs), identical, overlong)


class LogpModel(LossModel):
    """Per-pair-side sums of the log-probabilities of the labelled tokens (the step), with the
    output head applied only at scored positions, as `LossModel` does for the SFT loss. Takes
    either `pair_batch`'s one-row-per-pair forks (train/fork.py) or two rows per pair."""

    def forward(self, input_ids: Any, labels: Any = None, position_ids: Any = None, weights: Any = None, attention_mask: Any = None,
                score_rows: Any = None, score_cols: Any = None, score_tokens: Any = None, score_slots: Any = None,
                n_slots: Any = None) -> Any:
        import torch
        import torch.nn.functional as F

        decoder, head = self._parts()
        hidden = decoder(input_ids=input_ids, position_ids=position_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
        if score_rows is None:  # two rows per pair: position t predicts token t+1
            targets = labels[:, 1:]
            keep = targets != IGNORE
            score_rows, score_tokens, n = keep.nonzero()[:, 0], targets[keep], input_ids.shape[0]
            picked, score_slots = hidden[:, :-1][keep], score_rows
        else:
            picked, n = hidden[score_rows, score_cols], int(n_slots)
        logps = -F.cross_entropy(head(picked).float(), score_tokens, reduction="none")
        return torch.zeros(n, device=hidden.device, dtype=torch.float32).index_add(0, score_slots, logps)


def pair_batch(pairs: list[PairExample], pad_id: int, forked: bool = True) -> dict[str, Any]:
    """One batch whose `LogpModel` output is the chosen steps' log-probs, then the rejected ones',
    in pair order: each pair as one row with its prompt computed once (`forked`, train/fork.py),
    or as two rows (where flash-attention takes no 4-D mask)."""
    if forked:
        return fork_batch([fork(p.chosen, p.rejected) for p in pairs], pad_id)
    return collate([[p.chosen] for p in pairs] + [[p.rejected] for p in pairs], pad_id)


def dpo_losses(logps: Any, pairs: list[PairExample], beta: float, nll_weight: float = 0.0) -> tuple[Any, Any]:
    """(per-pair loss, per-pair reward margin) from the policy log-probs of `pair_batch` rows;
    `nll_weight` adds that share of the chosen step's mean token NLL (RPO)."""
    import torch
    import torch.nn.functional as F

    n = len(pairs)
    ref = torch.tensor([[p.ref_chosen, p.ref_rejected] for p in pairs], dtype=torch.float32, device=logps.device)
    margin = beta * ((logps[:n] - ref[:, 0]) - (logps[n:] - ref[:, 1]))
    loss = -F.logsigmoid(margin)
    if nll_weight:
        tokens = torch.tensor([max(p.chosen.n_trained, 1) for p in pairs], dtype=torch.float32, device=logps.device)
        loss = loss + nll_weight * (-logps[:n] / tokens)
    return loss, margin


def _adapter_info(ref: str) -> dict[str, Any]:
    info_file = Path(ref) / RUN_INFO
    return json.loads(info_file.read_text(encoding="utf-8")) if info_file.exists() else {}


class DPOTrainer(Trainer):
    def __init__(self, cfg: DPOConfig, model: Any = None, tokenizer: Any = None, pairs: list[StepPair] | None = None) -> None:
        cfg.validate()
        self.cfg: DPOConfig = cfg
        self.out = Path(cfg.out)
        pairs = pairs if pairs is not None else read_pairs(cfg.data or "")  # bad data fails before the model loads
        ref_info = _adapter_info(cfg.ref) if cfg.ref != "base" else {}
        base = cfg.model or ref_info.get("base_model")  # an adapter that records no base is on the embedded model
        self.base_model_path = str(Path(base).resolve()) if base else None
        self.base_is_embedded = model is None and base is None
        tokenizer = tokenizer if tokenizer is not None else load_tokenizer(base)  # as Trainer: tokenizer, pairs, then weights
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.tokenizer = tokenizer
        self.corpus = build_pair_corpus(pairs, tokenizer, cfg.format, cfg.lang, cfg.max_length, cfg.eval_split, cfg.seed)
        if model is None:
            model = load_training_model(base)
        self.rows = [[p] for p in self.corpus.train]
        self.eval_rows = [[p] for p in self.corpus.eval]
        self.extra_info = {"dpo": {"ref": str(Path(cfg.ref).resolve()) if cfg.ref != "base" else "base", "beta": cfg.beta,
                                   "nll_weight": cfg.nll_weight, **self.corpus.counts()}}
        from accelerate.utils import set_seed

        set_seed(cfg.seed)
        if cfg.ref != "base" and not cfg.lora:  # full fine-tuning from the SFT model: fold the adapter in
            model = apply_adapter(model, cfg.ref, "--ref")
        self.model = self._prepare_model(model)
        self.forked = forks_supported(self.model)
        self._reference_logps()

    def _add_adapter(self, model: Any) -> Any:
        """With an SFT adapter as reference, keep training that adapter; else a fresh LoRA."""
        if self.cfg.ref == "base":
            return super()._add_adapter(model)
        return attach_adapter(model, self.cfg.ref, "--ref")

    def _loss_module(self) -> Any:
        return LogpModel(self.model)

    def _reference_logps(self) -> None:
        """The policy's log-probs now, at its start values = the reference model's."""
        import torch

        device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
        model = self.model.to(device)
        scorer = LogpModel(model)
        everything = self.corpus.train + self.corpus.eval
        autocast = torch.autocast(device.type, torch.bfloat16, enabled=self.cfg.mixed_precision() == "bf16")  # as the policy trains
        model.eval()
        bar = progress_bar(len(everything), 0, self.cfg.progress, "reference log-probs", "pair")  # minutes on a CPU: show them
        with torch.no_grad(), autocast:
            for start in range(0, len(everything), self.cfg.batch_size):
                chunk = everything[start:start + self.cfg.batch_size]
                batch = pair_batch(chunk, self.tokenizer.pad_token_id, self.forked)
                logps = scorer(**{k: v.to(device) for k, v in batch.items() if k != "real_tokens"}).tolist()
                for p, c, r in zip(chunk, logps[:len(chunk)], logps[len(chunk):]):
                    p.ref_chosen, p.ref_rejected = c, r
                if bar is not None:
                    bar.update(len(chunk))
        if bar is not None:
            bar.close()
        model.train()

    def _accumulate(self, acc: Any, loss_model: Any, micro_batches: list[list[list[Any]]]) -> tuple[float, int, dict[str, float]]:
        """The mean DPO loss over every pair of the optimizer step (on all ranks)."""
        from contextlib import nullcontext

        import torch

        groups = [[row[0] for row in mb] for mb in micro_batches]
        n_global = int(acc.reduce(torch.tensor(sum(map(len, groups)), device=acc.device), "sum").item())
        sums = torch.zeros(3, device=acc.device)  # loss, margin, margin > 0
        tokens = 0
        for i, pairs in enumerate(groups):
            batch = pair_batch(pairs, self.tokenizer.pad_token_id, self.forked)
            tokens += batch.pop("real_tokens")
            sync = nullcontext() if i == len(groups) - 1 else acc.no_sync(loss_model)
            with sync, acc.autocast():
                losses, margin = dpo_losses(loss_model(**{k: v.to(acc.device) for k, v in batch.items()}), pairs, self.cfg.beta,
                                           self.cfg.nll_weight)
                acc.backward(losses.sum() * acc.num_processes / max(n_global, 1))
            sums += torch.stack([losses.sum(), margin.sum(), (margin > 0).float().sum()]).detach()
        loss, margin_sum, right = (acc.reduce(sums, "sum") / max(n_global, 1)).tolist()
        return loss, tokens * acc.num_processes, {"reward_margin": margin_sum, "reward_accuracy": right}

    def evaluate(self, loss_model: Any, acc: Any) -> float | None:
        """Mean DPO loss over the held-out pairs (None without any)."""
        import torch

        if not self.eval_rows:
            return None
        loss_model.eval()
        total = torch.zeros((), device=acc.device)
        with torch.no_grad(), acc.autocast():
            for i in range(acc.process_index * self.cfg.batch_size, len(self.eval_rows), acc.num_processes * self.cfg.batch_size):
                pairs = [row[0] for row in self.eval_rows[i:i + self.cfg.batch_size]]
                batch = pair_batch(pairs, self.tokenizer.pad_token_id, self.forked)
                batch.pop("real_tokens")
                losses, _ = dpo_losses(loss_model(**{k: v.to(acc.device) for k, v in batch.items()}), pairs, self.cfg.beta,
                                           self.cfg.nll_weight)
                total = total + losses.sum()
        loss_model.train()
        return float(acc.reduce(total, "sum").item() / len(self.eval_rows))


def margins(model: Any, tokenizer: Any, pairs: list[PairExample], beta: float = 1.0) -> list[float]:
    """β·(log π(c) − log π(r)) per pair under `model` (no reference): what DPO pushes up. For
    reports and tests."""
    import torch

    model.eval()
    with torch.no_grad():
        batch = pair_batch(pairs, tokenizer.pad_token_id, forks_supported(model))
        batch.pop("real_tokens")
        logps = LogpModel(model)(**batch)
    n = len(pairs)
    return (beta * (logps[:n] - logps[n:])).tolist()
