"""Preference training (DPO) on step pairs: a loss plugged into the SFT trainer's own loop.

Why tooltune's own loop and not TRL's `DPOTrainer`: TRL is not installed by `make install` (only
the `bench` extra pulls it), and its trainer renders rows with the model's chat template, not with
the prompt formats (react / json) the agent prompts with. Here a pair is scored exactly as SFT
trains and the agent prompts: `build_step_example` renders prompt + step through the format and
`ChatRenderer`, labels only the step's tokens, and everything else — accelerate, LoRA,
checkpoints, `--resume`, time budget, Ctrl-C, metrics, progress bar — is `Trainer`'s: `DPO` is the
objective (train/objective.py) it runs. The pairs behind one prompt train as one tree row, the
prompt computed once (train/pair_tree.py).

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
from tooltune.llm.loading import apply_adapter
from tooltune.train.dataset import IGNORE, Example, build_step_example, split_eval
from tooltune.train.dpo_config import DPOConfig
from tooltune.train.loss import LossModel, decoder_states
from tooltune.train.model import RUN_INFO, tree_masks_supported
from tooltune.train.objective import to_device
from tooltune.train.packing import collate
from tooltune.train.pair_tree import PairTree, pair_trees, tree_batch
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
    """Per-side sums of the log-probabilities of the labelled tokens (the step), with the output
    head applied only at scored positions, as `LossModel` does for the SFT loss. Each token adds
    into its `slots` entry; a batch of tree rows (`trees`, train/pair_tree.py) runs row by row,
    each row's prompt once, and adds up."""

    def forward(self, input_ids: Any = None, labels: Any = None, slots: Any = None, n_slots: Any = None, position_ids: Any = None,
                attention_mask: Any = None, prefix_ids: Any = None, trees: list[dict[str, Any]] | None = None) -> Any:
        import torch
        import torch.nn.functional as F

        if trees is not None:
            return torch.stack([self(**t, n_slots=n_slots) for t in trees]).sum(0)
        decoder, head = self._parts()
        hidden = decoder_states(decoder, input_ids, position_ids, attention_mask, prefix_ids)
        targets = labels[:, 1:]  # position t predicts token t+1
        keep = targets != IGNORE
        logps = -F.cross_entropy(head(hidden[:, :-1][keep]).float(), targets[keep], reduction="none")
        return torch.zeros(int(n_slots), device=hidden.device, dtype=torch.float32).index_add(0, slots[:, 1:][keep], logps)


def pair_batch(pairs: list[PairExample], pad_id: int, forked: bool = True) -> dict[str, Any]:
    """One batch whose `LogpModel` output is the chosen steps' log-probs, then the rejected ones',
    in pair order: the pairs behind one prompt as one tree row (`forked`, train/pair_tree.py), or
    each side as a row of its own (where flash-attention takes no 4-D mask)."""
    import torch

    if forked:
        return tree_batch(pair_trees(pairs), pairs, pad_id)
    t = collate([[p.chosen] for p in pairs] + [[p.rejected] for p in pairs], pad_id)
    t["slots"] = torch.arange(2 * len(pairs)).unsqueeze(1).expand_as(t["input_ids"]).contiguous()
    t["n_slots"] = torch.tensor(2 * len(pairs))
    return t


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


def _pairs(rows: list[Any]) -> list[PairExample]:
    """The pairs of a micro-batch, in the order its batch returns them: tree rows or [pair] rows."""
    return [p for row in rows for p in (row.pairs if isinstance(row, PairTree) else row)]


class DPO:
    """The DPO objective (train/objective.py): the mean preference loss over a step's pairs, with
    the reward margin and accuracy as metrics. Its rows are the pairs behind one prompt as tree
    rows, or one pair each where the model takes no tree mask."""

    metrics = ("reward_margin", "reward_accuracy")

    def __init__(self, cfg: DPOConfig, pairs: list[StepPair]) -> None:
        self.cfg, self.pairs = cfg, pairs
        self.ref_info = _adapter_info(cfg.ref) if cfg.ref != "base" else {}

    def base_model(self, cfg: DPOConfig) -> str | None:
        return cfg.model or self.ref_info.get("base_model")  # an adapter that records no base is on the embedded model

    def corpus(self, cfg: DPOConfig, tokenizer: Any, samples: Any) -> PairCorpus:
        return build_pair_corpus(self.pairs, tokenizer, cfg.format, cfg.lang, cfg.max_length, cfg.eval_split, cfg.seed)

    def rows(self, examples: list[PairExample], cfg: DPOConfig, trees: bool, packed: bool) -> list[Any]:
        return list(pair_trees(examples, cfg.max_length)) if trees else [[p] for p in examples]  # pairs are never packed

    def loaded(self, model: Any, cfg: DPOConfig) -> Any:
        """Full fine-tuning from an SFT adapter: the adapter folded into the weights first."""
        return apply_adapter(model, cfg.ref, "--ref") if cfg.ref != "base" and not cfg.lora else model

    def start_adapter(self, cfg: DPOConfig) -> tuple[str, str] | None:
        """With an SFT adapter as reference, keep training that adapter; else as SFT does."""
        if cfg.ref != "base":
            return cfg.ref, "--ref"
        return (cfg.init_adapter, "--init-adapter") if cfg.init_adapter else None

    def module(self, model: Any, cfg: DPOConfig) -> Any:
        return LogpModel(model)

    def batch(self, rows: list[Any], pad_id: int) -> dict[str, Any]:
        if rows and isinstance(rows[0], PairTree):
            return tree_batch(rows, _pairs(rows), pad_id)
        return pair_batch(_pairs(rows), pad_id, forked=False)

    def count(self, rows: list[Any], batch: dict[str, Any]) -> int:
        return len(_pairs(rows))

    def sums(self, output: Any, rows: list[Any]) -> Any:
        import torch

        losses, margin = dpo_losses(output, _pairs(rows), self.cfg.beta, self.cfg.nll_weight)
        return torch.stack([losses.sum(), margin.sum(), (margin > 0).float().sum()])

    def start(self, trainer: Trainer) -> dict[str, Any]:
        """Scores the reference, then names it for the run record."""
        self._reference_logps(trainer)
        cfg = self.cfg
        return {"dpo": {"ref": str(Path(cfg.ref).resolve()) if cfg.ref != "base" else "base", "beta": cfg.beta,
                        "nll_weight": cfg.nll_weight, **trainer.corpus.counts()}}

    def _reference_logps(self, trainer: Trainer) -> None:
        """The policy's log-probs now, at its start values = the reference model's, in the rows
        and batches training uses."""
        import torch

        device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
        model = trainer.model.to(device)
        scorer = LogpModel(model)
        rows, size = trainer.rows + trainer.eval_rows, trainer.cfg.batch_size
        autocast = torch.autocast(device.type, torch.bfloat16, enabled=self.cfg.mixed_precision() == "bf16")  # as the policy trains
        model.eval()
        bar = progress_bar(len(_pairs(rows)), 0, self.cfg.progress, "reference log-probs", "pair")  # minutes on a CPU: show them
        with torch.no_grad(), autocast:
            for start in range(0, len(rows), size):
                chunk = rows[start:start + size]
                batch = self.batch(chunk, trainer.tokenizer.pad_token_id)
                batch.pop("real_tokens")
                logps = scorer(**to_device(batch, device)).tolist()
                pairs = _pairs(chunk)
                for p, c, r in zip(pairs, logps[:len(pairs)], logps[len(pairs):]):
                    p.ref_chosen, p.ref_rejected = c, r
                if bar is not None:
                    bar.update(len(pairs))
        if bar is not None:
            bar.close()
        model.train()


def dpo_trainer(cfg: DPOConfig, model: Any = None, tokenizer: Any = None, pairs: list[StepPair] | None = None) -> Trainer:
    """The trainer of a DPO run: `Trainer` with the `DPO` objective. Bad options, then bad pairs,
    fail before the model loads."""
    cfg.validate()
    pairs = pairs if pairs is not None else read_pairs(cfg.data or "")
    return Trainer(cfg, model, tokenizer, objective=DPO(cfg, pairs))


def margins(model: Any, tokenizer: Any, pairs: list[PairExample], beta: float = 1.0) -> list[float]:
    """β·(log π(c) − log π(r)) per pair under `model` (no reference): what DPO pushes up. For
    reports and tests."""
    import torch

    model.eval()
    with torch.no_grad():
        batch = pair_batch(pairs, tokenizer.pad_token_id, tree_masks_supported(model))
        batch.pop("real_tokens")
        logps = LogpModel(model)(**batch)
    n = len(pairs)
    return (beta * (logps[:n] - logps[n:])).tolist()
