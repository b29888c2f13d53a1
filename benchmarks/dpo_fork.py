"""DPO step cost: a pair as one tree row (the shared prompt once, train/pair_tree.py) vs two rows, on the
embedded SmolLM2-135M in fp32 with the shipped LoRA adapter trainable — what `tooltune train
--dpo --ref <shipped adapter>` runs on a CPU.

Both ways score the same pairs with the same `LogpModel`, one pair per batch (as `--batch-size 1`),
forward + backward of the DPO-shaped loss (chosen minus rejected); the table also times the
forward alone (the reference pass). Timing: wall clock of the whole pass over the pairs, the two
ways alternating (rows, fork, rows, fork, ...) `--repeats` times after one warm-up pass each;
the table shows medians and the ratio. Before timing, the two ways' log-probs are compared.

Pairs: `--pairs FILE` (TRL preference rows, as `tooltune pairs mine` writes), else the demo
corpus's first calls against its final answers (short prompts: the fork saves less there).

Run: OMP_NUM_THREADS=2 .venv/bin/python benchmarks/dpo_fork.py [--pairs runs/dpo3/mix.jsonl] [--n 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from tooltune.data.pairs import StepPair, read_pairs
from tooltune.messages import Sample, read_jsonl
from tooltune.train.dataset import DEMO_CORPUS
from tooltune.train.dpo import LogpModel, build_pair_corpus, pair_batch

SHIPPED = "src/tooltune/llm/adapters/smollm2-tools"


def demo_pairs() -> list[StepPair]:
    """Per demo sample that calls a tool: its first step (the call) over its last (the answer
    given before the call was made)."""
    pairs = []
    for _, obj in read_jsonl(DEMO_CORPUS):
        s = Sample.from_openai(obj)
        steps = [i for i, m in enumerate(s.messages) if m.role == "assistant"]
        if s.messages[steps[0]].tool_calls and not s.messages[steps[-1]].tool_calls:
            pairs.append(StepPair(s.messages[:steps[0]], s.messages[steps[0]], s.messages[steps[-1]], s.tools))
    return pairs


def one_pass(model: Any, examples: list[Any], pad_id: int, forked: bool, backward: bool) -> float:
    scorer = LogpModel(model)
    start = time.perf_counter()
    for ex in examples:
        batch = pair_batch([ex], pad_id, forked)
        batch.pop("real_tokens")
        with torch.set_grad_enabled(backward):
            logps = scorer(**batch)
            if backward:
                (logps[0] - logps[1]).backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", help="TRL preference rows (default: pairs from the demo corpus)")
    parser.add_argument("--n", type=int, default=8, help="pairs per pass")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per way, alternating; medians shown")
    parser.add_argument("--max-length", type=int, default=2560)
    args = parser.parse_args()
    from tooltune.llm.loading import attach_adapter
    from tooltune.train.model import load_for_training

    model, tok = load_for_training(None)
    model = attach_adapter(model, SHIPPED, "--ref")
    pairs = read_pairs(args.pairs) if args.pairs else demo_pairs()
    examples = build_pair_corpus(pairs, tok, "json", max_length=args.max_length).train[:args.n]
    tokens = {way: sum(pair_batch([ex], tok.pad_token_id, way == "fork")["real_tokens"] for ex in examples) for way in ("rows", "fork")}
    with torch.no_grad():
        a = LogpModel(model)(**{k: v for k, v in pair_batch(examples[:2], tok.pad_token_id, True).items() if k != "real_tokens"})
        b = LogpModel(model)(**{k: v for k, v in pair_batch(examples[:2], tok.pad_token_id, False).items() if k != "real_tokens"})
    gap = float((a - b).abs().max())
    times: dict[tuple[str, bool], list[float]] = {}
    for backward in (False, True):
        for way in ("rows", "fork"):
            one_pass(model, examples[:1], tok.pad_token_id, way == "fork", backward)  # warm-up
        for _ in range(args.repeats):
            for way in ("rows", "fork"):
                times.setdefault((way, backward), []).append(one_pass(model, examples, tok.pad_token_id, way == "fork", backward))
    table = Table(title=f"{len(examples)} pairs, batch 1, SmolLM2-135M fp32 + shipped LoRA, {torch.get_num_threads()} threads; "
                        f"largest log-prob gap between the ways {gap:.1e}")
    for col in ("pass", "way", "tokens computed", "s / pair (median)", "speed-up"):
        table.add_column(col)
    for backward, label in ((False, "forward (reference)"), (True, "forward + backward (step)")):
        rows = statistics.median(times[("rows", backward)])
        for way in ("rows", "fork"):
            t = statistics.median(times[(way, backward)])
            table.add_row(label, way, str(tokens[way]), f"{t / len(examples):.2f}", f"{rows / t:.2f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
