"""Hand-written requests on real tool sets (benchmarks/data/specialize/<set>/): the shipped adapter
against a specialised one, on questions written by a person before any synthesis output was seen.

Each set holds the tools as their authors publish them (tools.json), and questions.jsonl: a request,
the exact calls its first assistant turn should make (`calls`, [] = answer in text). Scored with
tooltune's eval runner on that first turn (json format, constrained decoding as `tooltune run`
decodes): tool + exact arguments over the items that need calls (an extra argument passes only when
it equals its schema default), and no call where none is due.

With --forced, each first turn is scored teacher-forced instead (eval/forced.py, what `tooltune
specialize` reports: exact = greedy decoding writes the reference token for token; seconds, not
minutes; no constraint, so no easier than decoding).

Run: .venv/bin/python benchmarks/specialize_eval.py SET [--adapter LABEL=DIR …] [--out runs/bench-SET] [--forced]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tooltune.eval.evaluate import ModelSpec, run_eval
from tooltune.eval.items import make_item
from tooltune.eval.runner import EvalSettings
from tooltune.llm import make_llm
from tooltune.messages import Message, Sample, ToolCall, read_jsonl, write_jsonl_atomic

HERE = Path(__file__).resolve().parent / "data" / "specialize"


def load_set(name: str) -> list:
    folder = HERE / name
    tools = json.loads((folder / "tools.json").read_text(encoding="utf-8"))
    items = []
    for lineno, q in read_jsonl(folder / "questions.jsonl"):
        calls = [ToolCall(c["name"], c["arguments"], f"call_{i}") for i, c in enumerate(q["calls"])]
        reply = Message("assistant", None, calls) if calls else Message("assistant", "(an answer in text)")
        sample = Sample([Message("user", q["question"]), reply], tools)
        items.append(make_item(q["id"], sample, {"id": q["id"], "lang": q["lang"], "expect_tool_call": bool(calls)}, f"{name}:{lineno}"))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("set", help="a folder under benchmarks/data/specialize/")
    parser.add_argument("--adapter", action="append", default=[], help="LABEL=DIR of a specialised adapter (repeatable)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--forced", action="store_true", help="teacher-forced scoring instead of decoding")
    args = parser.parse_args()
    items = load_set(args.set)
    if args.forced:
        forced(items, args)
        return
    models = [ModelSpec("shipped", lambda: make_llm(None, backend="transformers"))]
    for spec in args.adapter:
        label, _, path = spec.partition("=")
        models.append(ModelSpec(label, lambda path=path: make_llm(None, adapter=path, backend="transformers")))
    started = time.perf_counter()
    report = run_eval(items, models, ["json"], EvalSettings(format="json", max_tokens=160, free_run=False, constrain=True),
                      args.out or f"runs/bench-{args.set}", args.set, batch_size=1)
    table = Table(title=f"{args.set}: {len(items)} hand-written requests ({sum(i.expect_tool_call for i in items)} need calls)")
    for col in ("model", "tool + exact args", "tool name", "no call where none is due"):
        table.add_column(col)
    for run in report["runs"]:
        s = run["summary"]
        calls = sum(i.expect_tool_call for i in items)
        none = len(items) - calls
        table.add_row(run["model"], f"{s['args_em'] * 100:.1f} % ({round(s['args_em'] * s['call_steps'])}/{s['call_steps']})",
                      f"{s['tool_name_em'] * 100:.1f} %", f"{round(s['no_call_accuracy'] * none)}/{none}" if none else "–")
    Console().print(table)
    print(f"{time.perf_counter() - started:.0f} s")


def forced(items: list, args: argparse.Namespace) -> None:
    from tooltune.eval.forced import score_forced, summarize_forced
    from tooltune.llm.embedded import shipped_adapter
    from tooltune.llm.loading import attach_adapter, load_tokenizer
    from tooltune.train.model import load_training_model

    tokenizer = load_tokenizer(None)
    table = Table(title=f"{args.set}: {len(items)} hand-written requests, first turn teacher-forced")
    for col in ("model", "tool + exact args", "tool name", "no call where none is due"):
        table.add_column(col)
    for label, path in [("shipped", str(shipped_adapter()))] + [tuple(a.split("=", 1)) for a in args.adapter]:
        started = time.perf_counter()
        model = attach_adapter(load_training_model(None), path, "adapter")
        results = score_forced(model, tokenizer, [i.sample for i in items], "json")
        s = summarize_forced(results)
        out = Path(args.out or f"runs/bench-{args.set}")
        out.mkdir(parents=True, exist_ok=True)  # per item: where greedy decoding would first leave the reference
        write_jsonl_atomic(out / f"forced-{label}.jsonl", [{"id": i.id, **r} for i, r in zip(items, results)])
        none = s["items"] - s["call_items"]
        table.add_row(label, f"{s['args_em'] * 100:.1f} % ({round(s['args_em'] * s['call_items'])}/{s['call_items']})",
                      f"{s['tool_name_em'] * 100:.1f} %", f"{round(s['no_call_accuracy'] * none)}/{none}")
        print(f"{label}: {time.perf_counter() - started:.0f} s", flush=True)
    Console().print(table)


if __name__ == "__main__":
    main()
