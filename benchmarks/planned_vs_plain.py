"""End-to-end success of planned (`--plan`) vs plain agent runs on a small multi-step task set,
with the built-in tools executed for real (calculator, offline web_search over the shipped docs).

Success = a reference answer occurs in the final answer (eval's `contains` match); a planned run
must also end `complete`. Both systems run the same model, format and tasks in one process.
CPU heavy with the embedded model: keep --limit small and run it with nice.
Run: PYTHONPATH=src nice -n 10 python benchmarks/planned_vs_plain.py --limit 4 [--model PATH [--adapter DIR]] [--format json] [--no-constrain]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tooltune.agent import Agent
from tooltune.eval.answers import answer_matches
from tooltune.eval.planned import EVAL_PLAN_LIMITS, run_plain, run_planned
from tooltune.llm import make_llm
from tooltune.messages import write_jsonl_atomic
from tooltune.tools import builtin_registry

TASKS = Path(__file__).resolve().parent / "data" / "multistep_tasks.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder / .gguf / 'embedded' (default: 'embedded', the shipped adapter; 'embedded-v2', 'embedded-base')")
    parser.add_argument("--adapter", default=None, help="a LoRA adapter folder on top of --model (e.g. --model embedded-base --adapter runs/x/train)")
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--format", default="json")
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=160)
    parser.add_argument("--no-constrain", dest="constrain", action="store_false",
                        help="free decoding; by default tool calls are held to the offered tools' schemas, as `tooltune run` does")
    parser.add_argument("--out", default=None, help="write every trajectory + outcome to this JSONL file")
    args = parser.parse_args()
    tasks = [json.loads(line) for line in TASKS.read_text(encoding="utf-8").splitlines() if line.strip()][: args.limit]
    llm = make_llm(args.model, args.base_url, None, adapter=args.adapter)
    tools = builtin_registry().select(["calculator", "web_search"])
    rows = []
    for task in tasks:
        for mode in ("plain", "planned"):
            agent = Agent(llm, tools, args.format, max_steps=6, max_tokens=args.max_tokens, constrain=args.constrain)
            is_right = lambda answer, refs=task["reference_answers"]: answer_matches(answer, refs, "contains")  # noqa: E731
            start = time.perf_counter()
            # the same scoring as `tooltune eval --plan` (tooltune.eval.planned), limits included
            outcome = run_plain(agent, task["question"], is_right) if mode == "plain" else run_planned(agent, task["question"], is_right, EVAL_PLAN_LIMITS)
            rows.append({"id": task["id"], "mode": mode, "success": outcome.success, "seconds": round(time.perf_counter() - start, 1),
                         **outcome.to_json(trajectory=True)})
            print(f"{task['id']} {mode}: {outcome.status} success={outcome.success} calls={outcome.tool_calls} answer={outcome.answer!r}", flush=True)
    if args.out:
        write_jsonl_atomic(args.out, rows)
    table = Table(title=f"planned vs plain, {len(tasks)} multi-step tasks ({args.model or 'embedded'}{' + ' + args.adapter if args.adapter else ''}, {args.format}{'' if args.constrain else ', free decoding'})")
    for col in ("mode", "success", "tool calls / task", "seconds / task"):
        table.add_column(col, justify="right" if col != "mode" else "left")
    for mode in ("plain", "planned"):
        mine = [r for r in rows if r["mode"] == mode]
        table.add_row(mode, f"{sum(r['success'] for r in mine)}/{len(mine)}", f"{sum(r['tool_calls'] for r in mine) / len(mine):.1f}",
                      f"{sum(r['seconds'] for r in mine) / len(mine):.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
