"""The agent loop's own cost per step, with the model excluded (ScriptedLLM answers instantly).

What is measured: rendering the prompt, parsing the completion, validating and running a cheap
tool (calculator), building the canonical messages and events — for each prompt format, in
episodes of 1, 5 and 20 tool steps (+ 1 final answer). Per-step cost that grows with the episode
length means the loop re-does work for the history; it should stay flat.
Run: PYTHONPATH=src python benchmarks/agent_overhead.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

from rich.console import Console
from rich.table import Table

from tooltune.agent import Agent
from tooltune.llm import ScriptedLLM
from tooltune.tools import builtin_registry

STEP = {  # each step a different expression: identical repeated calls would end the run as a loop
    "react": 'Thought: compute\nAction: calculator\nAction Input: {{"expression": "23*47+{i}"}}',
    "json": '<tool_call>\n{{"name": "calculator", "arguments": {{"expression": "23*47+{i}"}}}}\n</tool_call>',
}


def script(fmt: str, tool_steps: int) -> list[str]:
    return [STEP[fmt].format(i=i) for i in range(tool_steps)] + [FINAL[fmt]]
FINAL = {"react": "Thought: done\nFinal Answer: 1093", "json": "It is 1093."}
EPISODES = (1, 5, 20)


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
clock = time.process_time
STATS = {"median": statistics.median, "min": min}
stat = "median"


def ms_per_step(fmt: str, tool_steps: int, runs: int, render_cache: bool = True) -> float:
    """Median over `runs` episodes of (time of Agent.run) / (model steps). The default clock is
    the process's CPU time (all threads): on a shared, overloaded machine wall time mostly
    measures when the scheduler lets us run; --clock wall measures wall time."""
    registry = builtin_registry()
    per_step = []
    for _ in range(runs):
        agent = Agent(ScriptedLLM(script(fmt, tool_steps)), registry, fmt, max_steps=tool_steps + 1)
        if not render_cache:
            agent._renderer.join = None  # render the whole conversation every step, as before
        start = clock()
        traj = agent.run("What is 23*47+12?")
        per_step.append((clock() - start) / (tool_steps + 1))
        assert traj.status == "final"
    return STATS[stat](per_step) * 1e3


def calls_per_step(fmt: str, tool_steps: int, runs: int = 10, render_cache: bool = True) -> float:
    """Python function calls per step (cProfile): a load-independent check that the work per step
    does not grow with the history, for machines too busy for timings to mean much."""
    import cProfile
    import pstats

    registry = builtin_registry()
    agents = [Agent(ScriptedLLM(script(fmt, tool_steps)), registry, fmt, max_steps=tool_steps + 1) for _ in range(runs)]
    if not render_cache:
        for agent in agents:
            agent._renderer.join = None
    profile = cProfile.Profile()
    profile.enable()
    for agent in agents:
        agent.run("What is 23*47+12?")
    profile.disable()
    return pstats.Stats(profile).total_calls / runs / (tool_steps + 1)


def template_ms(fmt: str, tool_steps: int = 20) -> float:
    """Rendering the last prompt through the real SmolLM2 chat template (what TransformersLLM adds)."""
    from tooltune.formats.chat import ChatRenderer
    from tooltune.llm.transformers_backend import load_tokenizer

    renderer = ChatRenderer(load_tokenizer())
    traj = Agent(ScriptedLLM(script(fmt, tool_steps)), builtin_registry(), fmt, max_steps=tool_steps + 1).run("q")
    agent = Agent(ScriptedLLM([]), builtin_registry(), fmt)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        renderer.prompt_text(agent.request(traj.messages[:-1]).rendered)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="episodes per cell")
    parser.add_argument("--template", action="store_true", help="also time the SmolLM2 chat template at 20 steps")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu")
    parser.add_argument("--count-calls", action="store_true", help="print Python calls per step instead of times")
    parser.add_argument("--stat", choices=sorted(STATS), default="median", help="min: the best episode (timeit's rule on a busy machine)")
    args = parser.parse_args()
    global clock, stat
    clock, stat = CLOCKS[args.clock], args.stat
    if args.count_calls:
        table = Table(title="agent loop work per step: Python function calls (cProfile, 10 episodes)")
        table.add_column("system")
        for n in EPISODES:
            table.add_column(f"{n} tool step{'s' if n > 1 else ''}", justify="right")
        for cache in (True, False):
            for fmt in ("json", "react"):
                label = f"tooltune {fmt}" + ("" if cache else ", render cache off")
                table.add_row(label, *[f"{calls_per_step(fmt, n, render_cache=cache):.0f}" for n in EPISODES])
        Console().print(table)
        return
    title = f"agent loop overhead, {args.clock} ms per step (model excluded; {args.stat} of {args.runs} episodes)"
    table = Table(title=title)
    table.add_column("system")
    for n in EPISODES:
        table.add_column(f"{n} tool step{'s' if n > 1 else ''}", justify="right")
    if args.template:
        table.add_column("+ chat template @20", justify="right")
    for fmt in ("json", "react"):
        row = [f"tooltune {fmt}"] + [f"{ms_per_step(fmt, n, args.runs):.3f}" for n in EPISODES]
        table.add_row(*row, *([f"{template_ms(fmt):.3f}"] if args.template else []))
    for fmt in ("json", "react"):
        row = [f"tooltune {fmt}, render cache off"] + [f"{ms_per_step(fmt, n, args.runs, False):.3f}" for n in EPISODES]
        table.add_row(*row, *([""] if args.template else []))
    Console().print(table)


if __name__ == "__main__":
    main()
