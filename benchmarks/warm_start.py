"""Start-up of `tooltune run` on the embedded model, cold (empty weights cache: the GGUF is
de-quantised and written once) vs warm (the cached safetensors load), timed the same way.

Each run is a fresh process: `tooltune run --format json QUESTION` with stdout piped and
PYTHONUNBUFFERED=1. "first output s" is the wall time from spawning the process to the first byte
it prints (the model's streamed text comes first, so this is time to first token plus the pipe);
"total s" is the whole run, answer included. The cold run uses a new empty TOOLTUNE_CACHE_DIR;
warm runs reuse the one the cold run filled.

Run: .venv/bin/python benchmarks/warm_start.py [--warm-runs 3] [--question "What is 2 + 2?"]
"""

from __future__ import annotations

import argparse
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


def timed_run(question: str, cache_dir: str) -> tuple[float, float, int]:
    """(seconds to the first byte on stdout, seconds to exit, exit code) of one `tooltune run`."""
    exe = Path(sys.executable).with_name("tooltune")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TOOLTUNE_CACHE_DIR": cache_dir}
    started = time.perf_counter()
    proc = subprocess.Popen([str(exe), "run", "--format", "json", question], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    first_s = time.perf_counter() - started
    proc.stdout.read()
    code = proc.wait()
    return (first_s if first else float("nan")), time.perf_counter() - started, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--question", default="What is 2 + 2?")
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="tooltune-cache-")
    try:
        rows = [("cold (empty cache)", *timed_run(args.question, cache))]
        warm = [timed_run(args.question, cache) for _ in range(args.warm_runs)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    table = Table(title=f"`tooltune run --format json {args.question!r}` start-up, {os.cpu_count()} CPUs (fresh process each)")
    for col in ("start", "first output s", "total s", "exit"):
        table.add_column(col, justify="right")
    table.add_row(rows[0][0], f"{rows[0][1]:.2f}", f"{rows[0][2]:.2f}", str(rows[0][3]))
    table.add_row(f"warm, median of {len(warm)}", f"{statistics.median(w[0] for w in warm):.2f}",
                  f"{statistics.median(w[1] for w in warm):.2f}", ",".join(str(w[2]) for w in warm))
    Console().print(table)


if __name__ == "__main__":
    main()
