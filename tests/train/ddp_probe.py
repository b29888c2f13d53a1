"""`tooltune train` exactly as a user runs it under `accelerate launch`, with three probes that
tests/train/test_distributed.py reads back (one JSON per rank, PROBE_DIR/rank-N.json):

- all-reduce rounds per optimizer step: a DDP communication hook that counts the rounds of
  gradient all-reduce (the last bucket of each round) — `no_sync` on all but the last
  micro-batch must make it one round per step, whatever `--grad-accum` is;
- trained tokens this rank saw per step, and the history `Trainer.run` returned on this rank;
- every file this rank wrote (torch.save, safetensors, open for writing) and every rename.

Usage: accelerate launch --config_file CONFIG tests/train/ddp_probe.py PROBE_DIR train --data ... --out ...
The save functions are wrapped before accelerate, peft or transformers import them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

written: list[str] = []
renamed: list[str] = []
steps: list[dict[str, int]] = []
rounds = {"n": 0}
outcome: dict[str, Any] = {}


def _wrap_save(fn: Any) -> Any:
    def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(f, (str, os.PathLike)):
            written.append(os.path.abspath(f))
        return fn(obj, f, *args, **kwargs)

    return save


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and isinstance(args[0], (str, os.PathLike)) and isinstance(args[1], str) and set(args[1]) & set("wax+"):
        written.append(os.path.abspath(args[0]))
    elif event == "os.rename":
        renamed.append(f"{os.path.abspath(args[0])} -> {os.path.abspath(args[1])}")


torch.save = _wrap_save(torch.save)
safetensors.torch.save_file = _wrap_save(safetensors.torch.save_file)
sys.addaudithook(_audit)


def _count_rounds(state, bucket):  # type: ignore[no-untyped-def]  # DDP rejects hook annotations other than its own types
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook

    if bucket.is_last():
        rounds["n"] += 1
    return allreduce_hook(state, bucket)


def _instrument() -> None:
    from torch.nn.parallel import DistributedDataParallel

    from tooltune.train.packing import collate
    from tooltune.train.trainer import Trainer

    accumulate, run = Trainer._accumulate, Trainer.run

    def probed_accumulate(self: Any, acc: Any, loss_model: Any, micro_batches: Any) -> Any:
        if isinstance(loss_model, DistributedDataParallel) and not getattr(loss_model, "_probe_hooked", False):
            loss_model.register_comm_hook(None, _count_rounds)
            loss_model._probe_hooked = True
        before = rounds["n"]
        got = accumulate(self, acc, loss_model, micro_batches)
        tokens = sum(int((collate(mb, 0)["labels"][:, 1:] != -100).sum()) for mb in micro_batches)
        steps.append({"rounds": rounds["n"] - before, "micro_batches": len(micro_batches), "trained_tokens": tokens})
        return got

    def probed_run(self: Any) -> Any:
        result = run(self)
        params = [p for p in self.model.parameters() if p.requires_grad]
        outcome.update(history=result.history, eval_loss=result.eval_loss,
                       param_sum=float(sum(p.detach().double().sum() for p in params)),
                       param_abs=float(sum(p.detach().double().abs().sum() for p in params)))
        return result

    Trainer._accumulate, Trainer.run = probed_accumulate, probed_run


def main() -> None:
    probe_dir = Path(sys.argv[1])
    sys.argv = ["tooltune", *sys.argv[2:]]
    _instrument()
    from tooltune.cli import main as cli_main

    try:
        cli_main()
    finally:
        rank = int(os.environ.get("RANK", "0"))
        probe_dir.mkdir(parents=True, exist_ok=True)
        record = {"rank": rank, "world": int(os.environ.get("WORLD_SIZE", "1")), "steps": steps, "written": written,
                  "renamed": renamed, "threads": torch.get_num_threads(), **outcome}
        (probe_dir / f"rank-{rank}.json").write_text(json.dumps(record), encoding="utf-8")


if __name__ == "__main__":
    main()
