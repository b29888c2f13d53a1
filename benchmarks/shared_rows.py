"""Rows that share a prompt against plain rows — the `plain`, `shared` and `shared-frozen` systems of
benchmarks/train_throughput.py, and its loss-curve check (`--curve`).

Two workloads, the same samples for every system:
  fixed-list  one list of 12 tools (from the synthetic tool bank, never an evaluation set), requests
              synthesised over it by `tooltune specialize`'s generator: what specialisation trains
  v3          recipe v3's corpus drawn with MixV3.per_tool_list = K: K requests per tool list
Samples are grouped by prefix (the renderer's exact token match), each group cut into rows of K.

Systems, each in a fresh process (so peak memory is its own), one warm-up row first:
  plain          one row per sample: the tool prompt computed for each
  shared         tree rows (train/tree.py): the prompt once per K samples; loss and gradients exact
  shared-frozen  the same rows, the prompt run without gradient (what `tooltune specialize` trains)

The curve: both models start equal, see the same K samples per step (plain: K rows accumulated;
shared: one tree row), AdamW, loss = token-weighted mean; one PNG with both curves.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LORA = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
SYSTEMS = {"plain": "plain rows (the prompt once per sample)", "shared": "tree rows, exact (the prompt once per K samples)",
           "shared-frozen": "tree rows, prompt without gradient"}


def samples(data: str, n: int, per_list: int, seed: int = 3) -> list[Any]:
    from tooltune.messages import Sample

    if data == "v3":
        from tooltune.data.synth.bank import load_bank, split_bank
        from tooltune.data.synth.corpus import split_chat
        from tooltune.data.synth.corpus_v3 import MixV3, SynthV3

        synth = SynthV3(split_bank(load_bank(), 0.2)[0], split_chat()[0], seed, MixV3(per_tool_list=per_list))
        return [synth.sample()[0] for _ in range(n)]
    from tooltune.data.synth.bank import load_bank, split_bank
    from tooltune.data.synth.specialize import Plan, synthesize
    from tooltune.tools.sources import load_tools

    bank = split_bank(load_bank(), 0.2)[0]
    twelve = [t.spec("en") for t in bank if t.domain == bank[0].domain][:6] + [t.spec("en") for t in bank if t.domain != bank[0].domain][:6]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(twelve, f)
    rows = synthesize(Plan(load_tools([f.name]), ["en"]), n, seed=seed)
    Path(f.name).unlink()
    return [Sample.from_openai(r["sample"]) for r in rows]


def grouped(examples: list[Any], per_list: int) -> list[Any]:
    """Tree rows of exactly K samples each (fewer for a list's last group), by exact prefix."""
    from tooltune.train.tree import tree_rows

    by_prefix: dict[tuple[int, ...], list[Any]] = {}
    for ex in examples:
        by_prefix.setdefault(tuple(ex.input_ids[: ex.prefix]), []).append(ex)
    return [row for group in by_prefix.values() for i in range(0, len(group), per_list) for row in tree_rows(group[i:i + per_list], 1 << 20)]


def measure(system: str, data: str, n: int, per_list: int, max_length: int) -> dict[str, Any]:
    import torch

    from tooltune.train.dataset import build_corpus
    from tooltune.train.loss import LossModel
    from tooltune.train.model import apply_lora, load_for_training
    from tooltune.train.packing import collate

    torch.manual_seed(0)
    model, tok = load_for_training(None)
    model = apply_lora(model, 16, 32, LORA)
    examples = build_corpus(samples(data, n, per_list), tok, "json", max_length=max_length).train
    loss = LossModel(model, prefix_grad=system != "shared-frozen")
    rows = [[e] for e in examples] if system == "plain" else grouped(examples, per_list)
    batches = [collate([r], tok.pad_token_id) for r in rows]

    def step(batch: dict[str, Any]) -> None:
        total, _ = loss(**{k: v for k, v in batch.items() if k != "real_tokens"})
        total.backward()
        model.zero_grad(set_to_none=True)

    step(batches[0])  # warm-up
    started = time.perf_counter()
    for b in batches:
        step(b)
    seconds = time.perf_counter() - started
    prefix = sum(e.prefix for e in examples) / len(examples)
    return {"system": system, "samples": len(examples), "seconds": seconds, "samples_s": len(examples) / seconds, "prefix": prefix,
            "real_tokens": sum(len(e) for e in examples), "computed": sum(b["real_tokens"] for b in batches),
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def run_systems(names: list[str], data: str, n: int, per_list: int, max_length: int, repeats: int) -> list[dict[str, Any]]:
    """Each system in its own process, `repeats` rounds in alternating order; medians kept."""
    got: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            cmd = [sys.executable, str(Path(__file__).resolve().parent / "train_throughput.py"), "--one", name, "--data", data,
                   "--samples", str(n), "--per-list", str(per_list), "--max-length", str(max_length)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            got[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    return [sorted(runs, key=lambda x: x["seconds"])[len(runs) // 2] for runs in got.values()]


def table(results: list[dict[str, Any]], data: str, per_list: int) -> str:
    base = next((r for r in results if r["system"] == "plain"), results[0])
    lines = [f"{data}: {base['samples']} samples, K = {per_list} per prompt, mean prompt {base['prefix']:.0f} tokens",
             "| system | samples/s | vs plain | real tokens/s | tokens computed | peak memory |", "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {SYSTEMS[r['system']]} | {r['samples_s']:.3f} | {r['samples_s'] / base['samples_s']:.2f}x | "
                     f"{r['real_tokens'] / r['seconds']:.0f} | {r['computed']:,} | {r['peak_gb']:.1f} GB |")
    return "\n".join(lines)


def curve(data: str, steps: int, per_list: int, max_length: int, png: str, lr: float = 2e-4) -> tuple[list[float], list[float]]:
    """Per-step losses of plain and shared rows over the same samples (module docstring)."""
    import copy

    import torch

    from tooltune.train.dataset import build_corpus
    from tooltune.train.loss import LossModel
    from tooltune.train.model import apply_lora, load_for_training
    from tooltune.train.packing import collate
    from tooltune.train.tree import rejoin

    torch.manual_seed(0)
    base, tok = load_for_training(None)
    base = apply_lora(base, 16, 32, LORA)
    examples = build_corpus(samples(data, steps * per_list * 5, per_list), tok, "json", max_length=max_length).train
    rows = [r for r in grouped(examples, per_list) if len(r.branches) == per_list][:steps]
    if len(rows) < steps:
        raise SystemExit(f"only {len(rows)} full groups of {per_list} fit --max-length {max_length}")
    losses: dict[str, list[float]] = {"plain": [], "shared": []}
    for system in losses:
        model = copy.deepcopy(base)
        lm = LossModel(model)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
        started = time.perf_counter()
        for i, row in enumerate(rows):
            parts = [[rejoin(row.prefix, b)] for b in row.branches] if system == "plain" else [row]
            count, sums = 0, []
            for part in parts:
                s, c = lm(**{k: v for k, v in collate([part], tok.pad_token_id).items() if k != "real_tokens"})
                sums.append(s)
                count += int(c)
            loss = sum(sums) / count
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses[system].append(float(loss))
            print(f"{system} step {i + 1}/{steps} loss {float(loss):.4f} ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    _plot(losses, png, per_list, data)
    return losses["plain"], losses["shared"]


def _plot(losses: dict[str, list[float]], png: str, per_list: int, data: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(range(1, len(losses["plain"]) + 1), losses["plain"], label="plain rows", linewidth=3, alpha=0.5)
    ax.plot(range(1, len(losses["shared"]) + 1), losses["shared"], label="tree rows (shared prompt)", linewidth=1)
    gap = max(abs(a - b) for a, b in zip(losses["plain"], losses["shared"]))
    ax.set(xlabel="step", ylabel="training loss", title=f"{data}, {per_list} samples a step: largest gap {gap:.2e}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=110)
