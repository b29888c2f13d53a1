"""Compare the agent loop overhead of two checkouts in one run, alternating A B A B.

On a busy machine absolute timings drift with the load; running two checkouts in turn, several
rounds, and comparing the same statistic gives a ratio both saw under the same conditions. Each
cell times whole `Agent.run` episodes (a fresh Agent each, ScriptedLLM, the calculator), exactly as
`agent_overhead.py` does, per model step; it reports the median and the best decile.
Run: python benchmarks/agent_overhead_ab.py BASE_CHECKOUT NEW_CHECKOUT [--rounds 6] [--runs 40]
(e.g. `git worktree add /tmp/base <commit>` for the base).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CELL = r"""
import json, statistics, sys, time
from tooltune.agent import Agent
from tooltune.llm import ScriptedLLM
from tooltune.tools import builtin_registry
STEP = {"react": 'Thought: compute\nAction: calculator\nAction Input: {{"expression": "23*47+{i}"}}',
        "json": '<tool_call>\n{{"name": "calculator", "arguments": {{"expression": "23*47+{i}"}}}}\n</tool_call>'}
FINAL = {"react": "Thought: done\nFinal Answer: 1093", "json": "It is 1093."}
runs, registry, out = int(sys.argv[1]), builtin_registry(), {}
for clock_name, clock in (("wall", time.perf_counter), ("cpu", time.process_time)):
    for fmt in ("json", "react"):
        for n in (1, 5, 20):
            per_step = []
            for _ in range(runs):
                agent = Agent(ScriptedLLM([STEP[fmt].format(i=i) for i in range(n)] + [FINAL[fmt]]), registry, fmt, max_steps=n + 1)
                start = clock()
                assert agent.run("What is 23*47+12?").status == "final"
                per_step.append((clock() - start) / (n + 1))
            per_step.sort()
            out[f"{clock_name} {fmt} {n}"] = (statistics.median(per_step) * 1e3, per_step[len(per_step) // 10] * 1e3)
print(json.dumps(out))
"""


def measure(checkout: str, runs: int) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=os.path.join(checkout, "src"), OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", CELL, str(runs)], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--runs", type=int, default=40, help="episodes per cell and round")
    args = parser.parse_args()
    results: dict[str, list[dict[str, list[float]]]] = {args.base: [], args.new: []}
    for _ in range(args.rounds):
        for checkout in (args.base, args.new):
            results[checkout].append(measure(checkout, args.runs))
    print(f"{'ms per step':16s} {'A median':>9s} {'B median':>9s} {'B/A':>5s} | {'A p10':>7s} {'B p10':>7s} {'B/A':>5s}")
    for cell in results[args.base][0]:
        a_med = statistics.median(r[cell][0] for r in results[args.base])
        b_med = statistics.median(r[cell][0] for r in results[args.new])
        a_p10 = min(r[cell][1] for r in results[args.base])
        b_p10 = min(r[cell][1] for r in results[args.new])
        print(f"{cell:16s} {a_med:9.3f} {b_med:9.3f} {b_med / a_med:5.2f} | {a_p10:7.3f} {b_p10:7.3f} {b_p10 / a_p10:5.2f}")


if __name__ == "__main__":
    main()
