"""Load test for `tooltune serve`: the same requests sent one at a time, then by N concurrent
clients, to one server on 127.0.0.1 around the embedded model. Batching's gain is the ratio of
the two rows, measured in one run, timed the same way (wall clock around each HTTP request).

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/serve_load.py --clients 4 --requests 8 --max-tokens 24

Bounded: at most --requests requests per phase and --time-limit seconds per phase (requests not
started by then are not sent and are reported as skipped).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

CALC = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}
QUESTIONS = ["What is 23*47?", "How much is 1200/16?", "Compute 3.5 squared.", "What is 99+101?",
             "Add 17 and 25.", "What is 2 to the 10th power?", "Subtract 48 from 200.", "What is 7 times 8?"]


def start_server(args: argparse.Namespace) -> tuple[str, object]:
    import uvicorn

    from tooltune.formats import get_format
    from tooltune.serve.app import create_app
    from tooltune.serve.model import load_llm

    app = create_app(load_llm(args.model, None), get_format("json"), "bench", max_batch=args.clients, max_queue=4 * args.clients)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}/v1/chat/completions", server


def one_request(url: str, i: int, max_tokens: int, deadline: float) -> tuple[float, int, bool] | None:
    if time.monotonic() > deadline:
        return None
    body = {"model": "bench", "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
            "tools": [CALC], "max_tokens": max_tokens}
    started = time.perf_counter()
    try:
        r = httpx.post(url, json=body, timeout=600)
        ok = r.status_code == 200
        tokens = r.json()["usage"]["completion_tokens"] if ok else 0
    except httpx.HTTPError:
        ok, tokens = False, 0
    return time.perf_counter() - started, tokens, ok


def phase(url: str, clients: int, args: argparse.Namespace) -> dict[str, float]:
    deadline = time.monotonic() + args.time_limit
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda i: one_request(url, i, args.max_tokens, deadline), range(args.requests)))
    wall = time.perf_counter() - started
    done = [r for r in results if r is not None]
    ok = [r for r in done if r[2]]
    lat = sorted(r[0] for r in ok) or [float("nan")]
    return {"clients": clients, "sent": len(done), "errors": len(done) - len(ok), "skipped": len(results) - len(done),
            "wall": wall, "rps": len(ok) / wall, "p50": statistics.median(lat),
            "p99": lat[min(len(lat) - 1, round(0.99 * (len(lat) - 1)))], "tps": sum(r[1] for r in ok) / wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--requests", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds per phase")
    args = ap.parse_args()
    url, server = start_server(args)
    one_request(url, 0, 4, time.monotonic() + 600)  # warm-up, not counted
    rows = [("one at a time", phase(url, 1, args)), (f"{args.clients} concurrent", phase(url, args.clients, args))]
    server.should_exit = True
    print(f"\nmodel={args.model} requests/phase={args.requests} max_tokens={args.max_tokens} (json format, 1 tool)")
    print("| mode | clients | ok | errors | skipped | wall s | req/s | p50 s | p99 s | tokens/s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['clients']} | {r['sent'] - r['errors']} | {r['errors']} | {r['skipped']} | {r['wall']:.1f} | "
              f"{r['rps']:.2f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['tps']:.1f} |")
    seq, conc = rows[0][1], rows[1][1]
    print(f"\nthroughput ratio (concurrent / one at a time): req/s x{conc['rps'] / seq['rps']:.2f}, "
          f"tokens/s x{conc['tps'] / seq['tps']:.2f}")


if __name__ == "__main__":
    main()
