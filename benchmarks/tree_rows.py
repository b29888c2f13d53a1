"""Tree rows against plain rows: one LoRA forward + backward over the same samples, same model, same
process, timed the same way, on a fixed tool list (the 14 tools of mcp-server-git and
mcp-server-time, a ~2,200-token tool prompt) — the case `tooltune specialize` trains.

Systems, each over the same K synthetic samples (data/synth/specialize.py):
  plain        one row per sample (the tool prompt computed K times), one sample per step
  tree         one tree row: the prompt once, the K requests on its keys/values (exact gradients)
  tree-frozen  the same row with the prompt run without gradient (what specialize trains with)
Each system runs in a fresh process (peak memory is the process's), after one warm-up pass of the
same shape. Prints samples/s, tokens/s and peak memory.

Run: .venv/bin/python benchmarks/tree_rows.py [--samples 12] [--systems plain,tree,tree-frozen]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent / "data" / "specialize" / "mcp_git_time" / "tools.json"


def measure(system: str, n: int) -> dict:
    import torch

    from tooltune.data.synth.specialize import Plan, synthesize
    from tooltune.messages import Sample
    from tooltune.tools.sources import load_tools
    from tooltune.train.dataset import build_corpus
    from tooltune.train.loss import LossModel
    from tooltune.train.model import apply_lora, load_for_training
    from tooltune.train.packing import collate
    from tooltune.train.tree import tree_rows

    torch.manual_seed(0)
    rows = synthesize(Plan(load_tools([str(TOOLS)]), ["en"]), n, seed=3)
    model, tok = load_for_training(None)
    model = apply_lora(model, 16, 32, "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj")
    examples = build_corpus([Sample.from_openai(r["sample"]) for r in rows], tok, "json", max_length=8192).train
    loss = LossModel(model, prefix_grad=system != "tree-frozen")
    batches = [collate([[e]], tok.pad_token_id) for e in examples] if system == "plain" else \
        [collate([r], tok.pad_token_id) for r in tree_rows(examples, 16000)]

    def step(batch: dict) -> None:
        total, _ = loss(**{k: v for k, v in batch.items() if k != "real_tokens"})
        total.backward()
        model.zero_grad(set_to_none=True)

    step(batches[0])  # warm-up, same shapes
    started = time.perf_counter()
    for b in batches:
        step(b)
    seconds = time.perf_counter() - started
    tokens = sum(b["real_tokens"] for b in batches)
    return {"system": system, "samples": len(examples), "seconds": seconds, "samples_s": len(examples) / seconds,
            "tokens": tokens, "tokens_s": tokens / seconds, "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--systems", default="plain,tree,tree-frozen")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.samples)))
        return
    results = []
    for system in args.systems.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", system, "--samples", str(args.samples)], capture_output=True, text=True, check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = next((r for r in results if r["system"] == "plain"), results[0])
    print(f"| system | samples | seconds | samples/s | vs plain | tokens computed | peak memory |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['system']} | {r['samples']} | {r['seconds']:.1f} | {r['samples_s']:.3f} | {r['samples_s'] / base['samples_s']:.2f}x | "
              f"{r['tokens']:,} | {r['peak_gb']:.1f} GB |")


if __name__ == "__main__":
    main()
