"""Drill for `tooltune serve`'s limits: do 20 normal clients keep their latency while one client
sends oversized bodies, prompts past the context, long prompts near the context, and long
generations it walks away from?

One server on 127.0.0.1, three kinds of phase of --phase-seconds each, run in --rounds rounds
(order rotated each round), timed the same way (wall clock around each normal HTTP request):
  1. unloaded: the normal clients alone;
  2. abusive: the same, plus the abusive client;
  3. abusive, fairness off: the same again with the engine's long lane switched off (long
     prompts are batched with short ones and prefilled in one piece, as before chunked prefill).
Each normal client sends one short request (a question, the calculator tool, --max-tokens) after
another. The table gives, per phase, the normal requests answered, their p50 / p95 / max latency
and the ratio of p50 and p95 to the unloaded phase, and what the abusive client got back.

    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/serve_abuse.py --model tiny --phase-seconds 30
    PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/serve_abuse.py --model embedded --phase-seconds 60

OMP_NUM_THREADS=1: on a shared machine, torch's OpenMP threads spin-wait for each other and a
forward pass gets many times slower (measured here: 0.5 s instead of 25 ms per token of the tiny
model with 2 threads at a load average of 9).

Bounded: nothing is started after a phase's time; requests time out after --phase-seconds + 120 s;
the drill stops itself after 3 x --rounds phases (and exits hard well past that).
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

CALC = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}
QUESTIONS = ["What is 23*47?", "How much is 1200/16?", "Compute 3.5 squared.", "What is 99+101?",
             "Add 17 and 25.", "What is 2 to the 10th power?", "Subtract 48 from 200.", "What is 7 times 8?"]


def load(model: str, context: int):
    if model != "tiny":
        from tooltune.serve.model import load_llm

        return load_llm(model, None)
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from tooltune.llm.transformers_backend import TransformersLLM, load_tokenizer

    tok = load_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=512, vocab_size=len(tok), max_position_embeddings=context,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    return TransformersLLM(model_obj=LlamaForCausalLM(config).eval(), tokenizer=tok)


def start_server(llm, max_batch: int):
    import uvicorn

    from tooltune.formats import get_format
    from tooltune.serve.app import create_app

    app = create_app(llm, get_format("json"), "drill", max_batch=max_batch, max_queue=64)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}/v1/chat/completions", server, app


def ask(content: str, max_tokens: int, **extra) -> dict:
    return {"model": "drill", "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens, **extra}


def normal_client(url: str, i: int, args: argparse.Namespace, until: float, out: list) -> None:
    with httpx.Client(timeout=args.phase_seconds + 120) as http:
        n = i
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                r = http.post(url, json=ask(QUESTIONS[n % len(QUESTIONS)], args.max_tokens, tools=[CALC]))
                out.append((time.perf_counter() - started, r.status_code))
            except httpx.HTTPError as exc:
                out.append((time.perf_counter() - started, type(exc).__name__))
            n += 1


def abusive_client(url: str, args: argparse.Namespace, context: int, until: float, got: collections.Counter) -> None:
    """Round after round: a 2 MB body, a 600 kB message (~150k tokens), a prompt just past the
    context, a near-context prompt whose long streamed answer it abandons after 2 s, and a
    near-context prompt it waits for."""
    near = "count the words " * int(context * args.near / 3)  # ~args.near x context tokens
    past = "count the words " * int(context * 1.1 / 3)
    rounds = [("2 MB body", ask("x" * 2_000_000, 16), None), ("600 kB message", ask("lorem ipsum " * 50_000, 16), None),
              ("past the context", ask(past, 16), None), ("near context, abandoned", ask(near, context // 8, stream=True), 2.0),
              ("near context, waited for", ask(near, 32), None)]
    with httpx.Client(timeout=args.phase_seconds + 120) as http:
        while time.monotonic() < until:
            for name, body, give_up in rounds:
                if time.monotonic() >= until:
                    return
                try:
                    if give_up:
                        with http.stream("POST", url, json=body) as r:
                            end = time.monotonic() + give_up
                            for _ in r.iter_lines():
                                if time.monotonic() > end:
                                    break
                            got[f"{name}: {r.status_code}, left"] += 1
                    else:
                        got[f"{name}: {http.post(url, json=body).status_code}"] += 1
                except httpx.HTTPError as exc:
                    got[f"{name}: {type(exc).__name__}"] += 1


def phase(url: str, args: argparse.Namespace, context: int, abusive: bool) -> tuple[list, collections.Counter]:
    until = time.monotonic() + args.phase_seconds
    out: list = []
    got: collections.Counter = collections.Counter()
    threads = [threading.Thread(target=normal_client, args=(url, i, args, until, out)) for i in range(args.clients)]
    if abusive:
        threads.append(threading.Thread(target=abusive_client, args=(url, args, context, until, got)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.phase_seconds + 180)
    return out, got


def quantile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny", help="tiny (random 4-layer llama, --context) | embedded | a model path")
    ap.add_argument("--context", type=int, default=2048, help="the tiny model's context")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--max-batch", type=int, default=8)
    ap.add_argument("--phase-seconds", type=float, default=30.0)
    ap.add_argument("--near", type=float, default=0.8, help="the long prompts' length, as a fraction of the context")
    ap.add_argument("--rounds", type=int, default=2, help="each round runs the three phases (in rotated order)")
    args = ap.parse_args()
    watchdog = threading.Timer(3 * args.rounds * (args.phase_seconds + 180) + 600, lambda: os._exit(3))
    watchdog.daemon = True
    watchdog.start()
    from tooltune.llm.context import model_context

    llm = load(args.model, args.context)
    context = model_context(llm)
    url, server, app = start_server(llm, args.max_batch)
    httpx.post(url, json=ask(QUESTIONS[0], 4, tools=[CALC]), timeout=600)  # warm-up, not counted
    conditions = [("unloaded", False, True), ("abusive client", True, True), ("abusive client, fairness off", True, False)]
    rows = {name: ([], collections.Counter(), 0) for name, _, _ in conditions}
    for r in range(args.rounds):  # alternating, so drift in the machine's load hits every condition alike
        for name, abusive, fair in conditions[r % 3:] + conditions[:r % 3]:
            app.state.engine.interleave = fair
            before = app.state.engine.cancelled
            out, got = phase(url, args, context, abusive)
            old_out, old_got, old_cancelled = rows[name]
            rows[name] = (old_out + out, old_got + got, old_cancelled + app.state.engine.cancelled - before)
    server.should_exit = True
    rows = [(name, *rows[name]) for name, _, _ in conditions]
    base = [t for t, s in rows[0][1] if s == 200]
    print(f"\nmodel={args.model} context={context} normal clients={args.clients} max_tokens={args.max_tokens} "
          f"long prompts={args.near:g} x context phase={args.phase_seconds:g}s x {args.rounds} rounds max_batch={args.max_batch} threads={os.environ.get('OMP_NUM_THREADS', 'default')}")
    print("| phase | normal answered | errors | p50 s | p95 s | max s | p50 / unloaded | p95 / unloaded | cancelled |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, out, got, cancelled in rows:
        ok = [t for t, s in out if s == 200]
        p50, p95 = quantile(ok, 0.5), quantile(ok, 0.95)
        print(f"| {name} | {len(ok)} | {len(out) - len(ok)} | {p50:.2f} | {p95:.2f} | {max(ok, default=float('nan')):.2f} | "
              f"{p50 / quantile(base, 0.5):.2f} | {p95 / quantile(base, 0.95):.2f} | {cancelled} |")
    for name, _, got, _ in rows[1:]:
        print(f"\nabusive client ({name}): " + ", ".join(f"{k} x{v}" for k, v in sorted(got.items())))


if __name__ == "__main__":
    main()
