"""Training throughput: tooltune's trainer in fp32 and in bf16 autocast, packed and not, vs TRL's
SFTTrainer (its defaults), same model, data, labels and hardware, from one run; plus the tokens
one-pass masking saves over per-turn splitting.

CPU: the embedded SmolLM2-135M (GGUF -> fp32), LoRA r=8. GPU (when CUDA is present): a randomly
initialised Qwen2-0.5B-shaped model, full fine-tuning in bf16. Both trainers see the same
pre-tokenized samples (rendered by ChatRenderer in each sample's language, each no longer than MAX_LENGTH, so neither side
truncates or drops anything) with the same assistant-only labels, one epoch, same batch size.

Timing is the same for both: wall clock of the whole training call — tooltune's `train(...)`,
and TRL's `SFTTrainer(...)` construction plus `.train()` — after one warm-up run of each, on
N_SAMPLES (64 by default) samples. Speed = real (non-pad) tokens / that wall time. With
`--repeats R` every system runs R times, in alternating order (forward, then backward, ...), and
the table shows the median — on a shared machine, compare the ratios, not the absolute speeds.
TRL keeps its defaults
(no packing, padding to the longest row, full logits, gradient checkpointing on); on CPU it is
told use_cpu/bf16=False because its bf16 default refuses to start there.

Rows that share a prompt (systems plain, shared, shared-frozen; benchmarks/shared_rows.py): the same
samples as one row each or as tree rows of K samples behind one tool prompt, each system in a fresh
process so its peak memory is its own; `--curve STEPS` overlays both systems' loss curves in a PNG.

Run: .venv/bin/python benchmarks/train_throughput.py [--samples 64] [--repeats 1] [--systems fp32,bf16,packed,trl,trl-nockpt]
     (TRL: pip install 'tooltune[bench]')
     .venv/bin/python benchmarks/train_throughput.py --systems plain,shared,shared-frozen --data fixed-list --per-list 16 --samples 32
     .venv/bin/python benchmarks/train_throughput.py --systems plain,shared --data v3 --per-list 4 --samples 32
     .venv/bin/python benchmarks/train_throughput.py --curve 40 --data v3 --per-list 2 --max-length 800 --png docs/images/shared_rows_loss.png
"""

from __future__ import annotations

import argparse
import copy
import json
import importlib.util
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch
import shared_rows
from rich.console import Console
from rich.table import Table

from tooltune.messages import Sample, read_jsonl
from tooltune.train.dataset import DEMO_CORPUS, build_corpus, split_per_turn
from tooltune.train.packing import batches, make_rows, stats
from tooltune.train.config import TrainConfig
from tooltune.train.trainer import train

CUDA = torch.cuda.is_available()
N_SAMPLES = 64
BATCH = 8 if CUDA else 4
MAX_LENGTH = 2048 if CUDA else 512
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
console = Console()


def trimmed(sample: Sample) -> Sample:
    used = {c.name for m in sample.messages for c in m.tool_calls} or {"calculator"}
    return Sample(sample.messages, [t for t in sample.tools if t["function"]["name"] in used])


def load_model() -> tuple[Any, Any, str]:
    from tooltune.train.model import load_for_training

    model, tok = load_for_training(None)
    if not CUDA:
        return model, tok, "SmolLM2-135M (embedded GGUF, fp32), LoRA r=8"
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                      num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, tie_word_embeddings=True)
    torch.manual_seed(0)
    return Qwen2ForCausalLM(cfg), tok, "random Qwen2-0.5B-shaped, full fine-tuning, bf16"


def run_tooltune(model: Any, tok: Any, samples: list[Sample], pack: bool = True, precision: str = "auto") -> tuple[float, int, float]:
    """(real tokens/s of the whole call, real tokens, wall seconds of the whole `train` call)."""
    with tempfile.TemporaryDirectory() as out:
        cfg = TrainConfig(out=out, lora=not CUDA, lr=1e-4, epochs=1, batch_size=BATCH, max_length=MAX_LENGTH, eval_split=0.0,
                          progress=False, report_to="none", save_model=False, compile=CUDA, seed=0, pack=pack, precision=precision)
        started = time.perf_counter()
        result = train(cfg, model, tok, samples)
        wall = time.perf_counter() - started
    return result.real_tokens / wall, result.real_tokens, wall


def run_trl(model: Any, tok: Any, samples: list[Sample], checkpointing: bool = True) -> tuple[float, int, float] | None:
    """Same measure for TRL: the clock covers SFTTrainer construction (dataset prep, PEFT wrap) and train().
    `checkpointing=False` turns off TRL's one default that recomputes activations (tooltune's
    default is off): the rest of the gap is the loop, not configuration. TRL's padding-free and
    packing modes need flash-attention, so on CPU this is TRL at its best."""
    if importlib.util.find_spec("trl") is None or importlib.util.find_spec("datasets") is None:
        return None
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    rows = build_corpus(samples, tok, "react", max_length=MAX_LENGTH).train  # what tooltune trains on: each sample in its language
    assert len(rows) == len(samples), "every benchmark sample must fit MAX_LENGTH"
    data = Dataset.from_list([{"input_ids": e.input_ids, "completion_mask": [int(lab != -100) for lab in e.labels]} for e in rows])
    real = sum(len(e) for e in rows)
    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(output_dir=out, per_device_train_batch_size=BATCH, num_train_epochs=1, learning_rate=1e-4,
                         max_length=MAX_LENGTH, report_to="none", save_strategy="no", logging_steps=1, disable_tqdm=True,
                         gradient_checkpointing=checkpointing, **({} if CUDA else {"use_cpu": True, "bf16": False}))
        peft = None if CUDA else LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=LORA_TARGETS, task_type="CAUSAL_LM")
        started = time.perf_counter()
        SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok, peft_config=peft).train()
        wall = time.perf_counter() - started
    return real / wall, real, wall


def fitting_samples(tok: Any, demo: list[Sample], n: int = N_SAMPLES) -> list[Sample]:
    """n samples (cycling the demo corpus) that fit MAX_LENGTH, so both trainers see the same tokens."""
    trimmed_demo = [trimmed(s) for s in demo]
    fit = [trimmed_demo[e.source] for e in build_corpus(trimmed_demo, tok, "react", max_length=MAX_LENGTH).train]
    return [fit[i % len(fit)] for i in range(n)]


Run = Callable[[Any, Any, list[Sample]], "tuple[float, int, float] | None"]
DEFAULT_PRECISION = "bf16" if CUDA else "fp32"  # what `--precision auto` picks here
SYSTEMS: dict[str, tuple[str, Run]] = {
    "fp32": ("tooltune fp32, one sample per row, selective CE", lambda m, t, s: run_tooltune(m, t, s, pack=False, precision="fp32")),
    "bf16": ("tooltune bf16 autocast, one sample per row, selective CE", lambda m, t, s: run_tooltune(m, t, s, pack=False, precision="bf16")),
    "packed": (f"tooltune {DEFAULT_PRECISION}, packed, selective CE", lambda m, t, s: run_tooltune(m, t, s, pack=True)),
    "trl": ("TRL SFTTrainer defaults", run_trl),
    "trl-nockpt": ("TRL SFTTrainer defaults, gradient checkpointing off", lambda m, t, s: run_trl(m, t, s, checkpointing=False)),
}


def measure(model: Any, tok: Any, samples: list[Sample], names: list[str], repeats: int) -> dict[str, list[tuple[float, int, float]]]:
    """Each system once on one batch (warm-up, discarded), then `repeats` rounds in alternating
    order, so a change in the machine's load falls on all systems alike."""
    for name in names:
        SYSTEMS[name][1](copy.deepcopy(model), tok, samples[:BATCH])
    got: dict[str, list[tuple[float, int, float]]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            result = SYSTEMS[name][1](copy.deepcopy(model), tok, samples)
            if result is not None:
                got[name].append(result)
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=N_SAMPLES, help="training samples per run (64 for the published table)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per system, alternating order; the table shows medians")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, from {', '.join([*SYSTEMS, *shared_rows.SYSTEMS])}")
    parser.add_argument("--data", choices=["fixed-list", "v3"], default="fixed-list", help="workload of the plain/shared systems")
    parser.add_argument("--per-list", type=int, default=16, help="K: samples behind one prompt (plain/shared systems)")
    parser.add_argument("--max-length", type=int, default=4096, help="longest sample kept (plain/shared systems)")
    parser.add_argument("--curve", type=int, default=0, help="train plain and shared rows STEPS steps each and plot both loss curves")
    parser.add_argument("--png", default="shared_rows_loss.png", help="where --curve writes its plot")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child of run_systems
        print(json.dumps(shared_rows.measure(args.one, args.data, args.samples, args.per_list, args.max_length)))
        return
    if args.curve:
        plain, shared = shared_rows.curve(args.data, args.curve, args.per_list, args.max_length, args.png)
        gap = max(abs(a - b) for a, b in zip(plain, shared))
        console.print(f"{args.curve} steps: plain {plain[0]:.4f} -> {plain[-1]:.4f}, shared {shared[0]:.4f} -> {shared[-1]:.4f}; largest gap {gap:.2e}; plot {args.png}")
        return
    names = [n.strip() for n in args.systems.split(",") if n.strip()]
    tree_names = [n for n in names if n in shared_rows.SYSTEMS]
    if tree_names:
        console.print(shared_rows.table(shared_rows.run_systems(tree_names, args.data, args.samples, args.per_list, args.max_length, args.repeats),
                                        args.data, args.per_list))
        names = [n for n in names if n not in tree_names]
        if not names:
            return
    unknown = [n for n in names if n not in SYSTEMS]
    if unknown or not names or args.samples < BATCH or args.repeats < 1:
        parser.error(f"--systems from {', '.join(SYSTEMS)} (got {unknown or names}); --samples >= {BATCH}; --repeats >= 1")
    demo = [Sample.from_openai(o) for _, o in read_jsonl(DEMO_CORPUS)]
    model, tok, label = load_model()
    samples = fitting_samples(tok, demo, args.samples)
    console.print(f"model: {label}; {len(samples)} samples, batch {BATCH}, max_length {MAX_LENGTH}, {torch.get_num_threads()} CPU threads, "
                  f"{'CUDA ' + torch.cuda.get_device_name() if CUDA else 'CPU'}; {args.repeats} run(s) per system, alternating")
    console.print(result_table(measure(model, tok, samples, names, args.repeats)))
    console.print(token_table(tok, demo))


def result_table(got: dict[str, list[tuple[float, int, float]]]) -> Table:
    """Median wall time per system, real tokens/s, and speed relative to fp32 and to TRL."""
    med = {name: (runs[0][1] / statistics.median(r[2] for r in runs), runs[0][1], statistics.median(r[2] for r in runs))
           for name, runs in got.items() if runs}
    table = Table(title="training throughput: wall clock of the whole training call after a warm-up (real = non-pad tokens, same samples and labels, 1 epoch)")
    for col in ("trainer", "runs", "real tokens", "median wall s", "real tokens/s", "vs fp32", "vs TRL"):
        table.add_column(col, justify="right")
    for name, runs in got.items():
        if name not in med:
            table.add_row(SYSTEMS[name][0], "trl/datasets not installed: pip install 'tooltune[bench]'", "", "", "", "", "")
            continue
        speed, tokens, wall = med[name]
        vs = [f"{speed / med[ref][0]:.2f}x" if ref in med else "-" for ref in ("fp32", "trl")]  # TRL = its defaults
        table.add_row(SYSTEMS[name][0], str(len(runs)), str(tokens), f"{wall:.1f}", f"{speed:.1f}", *vs)
    return table


def token_table(tok: Any, demo: list[Sample]) -> Table:
    """Tokens processed when every assistant turn is trained in one pass vs one sample per turn,
    on the multi-turn demo corpus (full tool lists), and padding waste with/without packing."""
    examples = build_corpus(demo, tok, "react", max_length=1 << 20).train
    one_pass = sum(len(e) for e in examples)
    split = sum(len(s) for e in examples for s in split_per_turn(e))
    trained = sum(e.n_trained for e in examples)
    table = Table(title=f"multi-turn masking on the demo corpus ({len(examples)} dialogues, {trained} trained tokens)")
    for col in ("approach", "tokens processed", "relative"):
        table.add_column(col, justify="right")
    table.add_row("one pass, labels on every assistant span", str(one_pass), "1.00x")
    table.add_row("split: one sample per assistant turn", str(split), f"{split / one_pass:.2f}x")
    for packed in (False, True):
        st = stats(batches(make_rows(examples, 2048, packed), 4, 0, 0))
        table.add_row(f"padding waste, batch 4, {'packed 2048' if packed else 'one sample per row'}", f"{st.slots} slots", f"{st.padding_waste:.1%}")
    return table


if __name__ == "__main__":
    main()
