"""BFCL wall time: `tooltune bench` in-process (batched, prefix reuse) vs one request at a time
through a real `tooltune serve` process, on the same items with the same model and prompt.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_bfcl_speed.py --limit 50

Both sides score the same BFCL items (the four default categories, --limit each) with the
embedded model, greedy, json format, constrained decoding on both sides (the server renders the
same prompt from the tools it is sent). The clock is wall time around scoring all items; model loading is timed apart (the
server's from its start until it answers). The sides run one after the other, in-process first,
then the server; --rounds 2 runs A B A B and reports each side's best. Prints a table and the
verdicts' agreement (the same greedy model must give the same verdicts either way).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, port: int) -> tuple[subprocess.Popen, float]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tooltune.cli", "serve", "--model", model, "--port", str(port), "--format", "json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).status_code == 200:
                return proc, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit("tooltune serve exited before it answered")
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("tooltune serve did not answer within 300 s")


def timed_run(llm, items, settings, batch_size: int) -> tuple[float, list[bool]]:
    from tooltune.eval.bench import run_items

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        results, errors = run_items(llm, items, settings, Path(tmp) / "r.jsonl", batch_size=batch_size)
        elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} backend errors: {next(iter(errors.values()))}")
    return elapsed, [r["valid"] for r in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=50, help="items per category")
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--batch-size", type=int, default=8, help="in-process batch size")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    from tooltune.eval.bench import BenchSettings
    from tooltune.eval.bfcl import DEFAULT_CATEGORIES, load_items
    from tooltune.llm import make_llm

    items = load_items(list(DEFAULT_CATEGORIES), limit=args.limit)
    started = time.perf_counter()
    local = make_llm(args.model, backend="transformers")
    local_load = time.perf_counter() - started
    port = free_port()
    server, server_load = start_server(args.model, port)
    client = make_llm(args.model, f"http://127.0.0.1:{port}/v1", concurrency=1, timeout=600)
    times: dict[str, list[float]] = {"in-process": [], "server": []}
    verdicts: dict[str, list[bool]] = {}
    try:
        for _ in range(args.rounds):
            for side, llm, settings, batch in (("in-process", local, BenchSettings(format="json", constrain=True), args.batch_size),
                                               ("server", client, BenchSettings(format="native"), 1)):
                elapsed, verdicts[side] = timed_run(llm, items, settings, batch)
                times[side].append(elapsed)
                print(f"{side}: {elapsed:.1f} s", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    same = sum(a == b for a, b in zip(verdicts["in-process"], verdicts["server"]))
    best = {k: min(v) for k, v in times.items()}
    print(f"\nBFCL, {len(items)} items ({args.limit} per category), model {args.model}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print("| way | load s | wall s (best of %d) | s per item | passed |" % args.rounds)
    print("|---|---|---|---|---|")
    for side, load in (("in-process, batch %d" % args.batch_size, local_load), ("tooltune serve, 1 request at a time", server_load)):
        key = "in-process" if side.startswith("in") else "server"
        print(f"| {side} | {load:.1f} | {best[key]:.1f} | {best[key] / len(items):.2f} | {sum(verdicts[key])}/{len(items)} |")
    print(f"\nspeed-up in-process vs server: {best['server'] / best['in-process']:.2f}x; verdicts agree on {same}/{len(items)} items")


if __name__ == "__main__":
    main()
