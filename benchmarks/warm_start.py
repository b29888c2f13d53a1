"""Start-up of `tooltune run` on the embedded model: cold (empty cache) and warm, with and without
each start-up measure, timed the same way in one run; then where a warm start's time goes.

Each run is a fresh process: `tooltune run --format json QUESTION` with stdout piped and
PYTHONUNBUFFERED=1. "first output s" is the wall time from spawning the process to the first byte
it prints (the model's streamed text comes first, so this is time to first token plus the pipe);
"total s" is the whole run, answer included. The cold run uses a new empty TOOLTUNE_CACHE_DIR;
warm runs reuse the one the cold run filled, taking the configurations in turn (round-robin) so
a change in machine load hits them alike. The configurations switch off, by environment
variable, the transformers-free Llama (TOOLTUNE_NO_LITE=1) and the on-disk prompt KV cache
(TOOLTUNE_NO_KV_CACHE=1); "neither" is how `run` started before them.

The breakdown table runs the same steps as `tooltune run` in a child process, stamping the time
after each (seconds since spawn), with both measures on and with neither.

Run: .venv/bin/python benchmarks/warm_start.py [--warm-runs 3] [--question "What is 2 + 2?"]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

CONFIGS = {  # name -> environment switches
    "warm, both (default)": {},
    "warm, disk KV cache only": {"TOOLTUNE_NO_LITE": "1"},
    "warm, lite Llama only": {"TOOLTUNE_NO_KV_CACHE": "1"},
    "warm, neither (before)": {"TOOLTUNE_NO_LITE": "1", "TOOLTUNE_NO_KV_CACHE": "1"},
}


def timed_run(question: str, cache_dir: str, switches: dict[str, str]) -> tuple[float, float, int]:
    """(seconds to the first byte on stdout, seconds to exit, exit code) of one `tooltune run`."""
    exe = Path(sys.executable).with_name("tooltune")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOOLTUNE_CACHE_DIR": cache_dir, **switches}
    started = time.perf_counter()
    proc = subprocess.Popen([str(exe), "run", "--format", "json", question], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    first_s = time.perf_counter() - started
    proc.stdout.read()
    code = proc.wait()
    return (first_s if first else float("nan")), time.perf_counter() - started, code


def phases_child(spawned: float, question: str) -> None:
    """The steps of `tooltune run --format json QUESTION` up to the first streamed token and the end, each
    stamped in seconds since the parent spawned this process; prints them as JSON."""
    marks = {"python started": time.time()}
    import tooltune.cli as cli

    marks["import tooltune.cli (typer, rich)"] = time.time()
    from tooltune.agent import Agent
    from tooltune.formats import get_format
    from tooltune.llm import make_llm

    marks["import agent, formats"] = time.time()
    import tooltune.llm.transformers_backend  # noqa: F401 - torch and transformers' base

    marks["import torch, transformers base"] = time.time()
    llm = make_llm(None, disk_prefix=True, lite=True)
    marks["load weights + tokenizer"] = time.time()
    agent = Agent(llm, cli.make_tools("calculator,current_time,web_search"), get_format("json", "en", "user"), "en", max_steps=6, max_tokens=256)
    for event in agent.stream(question):
        if event.kind == "token" and len(marks) == 5:
            marks["first token (prompt, prefill, 1 step)"] = time.time()
    marks["whole run"] = time.time()
    out = {k: round(v - spawned, 3) for k, v in marks.items()}
    out["disk KV tokens"] = getattr(llm.disk_prefix, "hits", 0)
    print(json.dumps(out))


def phases(question: str, cache_dir: str, switches: dict[str, str]) -> dict:
    env = {**os.environ, "TOOLTUNE_CACHE_DIR": cache_dir, **switches}
    started = time.time()
    out = subprocess.run([sys.executable, __file__, "--phases-child", str(started), "--question", question],
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--question", default="What is 2 + 2?")
    parser.add_argument("--phases-child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phases_child is not None:
        return phases_child(args.phases_child, args.question)
    cache = tempfile.mkdtemp(prefix="tooltune-cache-")
    try:
        cold = timed_run(args.question, cache, {})
        warm: dict[str, list] = {name: [] for name in CONFIGS}
        for _ in range(args.warm_runs):
            for name, switches in CONFIGS.items():
                warm[name].append(timed_run(args.question, cache, switches))
        breakdown = {name: phases(args.question, cache, CONFIGS[name]) for name in ("warm, both (default)", "warm, neither (before)")}
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    table = Table(title=f"`tooltune run --format json {args.question!r}` start-up, {os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')} (fresh process each)")
    for col in ("start", "first output s", "total s", "exit"):
        table.add_column(col, justify="right")
    table.add_row("cold (empty cache, both on)", f"{cold[0]:.2f}", f"{cold[1]:.2f}", str(cold[2]))
    for name, runs in warm.items():
        table.add_row(f"{name}, median of {len(runs)}", f"{statistics.median(r[0] for r in runs):.2f}",
                      f"{statistics.median(r[1] for r in runs):.2f}", ",".join(str(r[2]) for r in runs))
    Console().print(table)
    steps = Table(title="where a warm start's time goes (seconds since spawn, one run each)")
    steps.add_column("step")
    for name in breakdown:
        steps.add_column(name, justify="right")
    for step in next(iter(breakdown.values())):
        steps.add_row(step, *(str(b.get(step, "")) for b in breakdown.values()))
    Console().print(steps)


if __name__ == "__main__":
    main()
