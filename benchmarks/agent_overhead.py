"""The agent loop's own cost per step, with the model excluded (ScriptedLLM answers instantly).

What is measured: rendering the prompt, parsing the completion, validating and running a cheap
tool (calculator), building the canonical messages and events — for each prompt format, in
episodes of 1, 5 and 20 tool steps (+ 1 final answer). The per-step columns average in that cheap
final step and the per-episode setup, so they rise a little with the episode length even when a
tool step costs the same; the "+1 tool step" columns (what one more tool step adds, early vs late)
are the history check: equal means a step does no work for the history.
Run: PYTHONPATH=src python benchmarks/agent_overhead.py [--runs 200] [--clock wall]
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


def ms_per_step(fmt: str, tool_steps: int, runs: int, render_cache: bool = True, pooled_tool: bool = False) -> float:
    """Median over `runs` episodes of (time of Agent.run) / (model steps). The default clock is
    the process's CPU time (all threads): on a shared, overloaded machine wall time mostly
    measures when the scheduler lets us run; --clock wall measures wall time. `pooled_tool`: the
    calculator runs on the tool pool, as a tool not marked `inline` does."""
    registry = builtin_registry()
    registry.get("calculator").inline = not pooled_tool
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
    from tooltune.llm.loading import load_tokenizer

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
    table = Table(title=title, caption=MARGINAL_NOTE)
    table.add_column("system")
    for n in EPISODES:
        table.add_column(f"{n} tool step{'s' if n > 1 else ''}", justify="right")
    for a, b in zip(EPISODES, EPISODES[1:]):
        table.add_column(f"+1 tool step, {a}→{b}", justify="right")
    if args.template:
        table.add_column("+ chat template @20", justify="right")
    rows = [(fmt, {}) for fmt in ("json", "react")] + [(fmt, {"render_cache": False}) for fmt in ("json", "react")]
    rows += [(fmt, {"pooled_tool": True}) for fmt in ("json", "react")]
    for fmt, options in rows:
        per_step = [ms_per_step(fmt, n, args.runs, **options) for n in EPISODES]
        label = f"tooltune {fmt}" + (", render cache off" if "render_cache" in options else ", pooled tool" if options else "")
        template = [f"{template_ms(fmt):.3f}" if not options else ""] if args.template else []
        table.add_row(label, *[f"{ms:.3f}" for ms in per_step], *[f"{ms:.3f}" for ms in marginal(per_step)], *template)
    Console(width=150).print(table)


MARGINAL_NOTE = ("+1 tool step: episode time added per extra tool step (from the medians); equal columns mean "
                 "a step costs the same late in an episode as early. Pooled tool: the calculator not `inline`.")


def marginal(per_step: list[float]) -> list[float]:
    """What one more tool step adds to an episode, between consecutive episode lengths. The
    per-step column also averages in the cheap final-answer step and the per-episode setup, so it
    rises with the episode length even when a tool step's cost does not."""
    episode = [ms * (n + 1) for ms, n in zip(per_step, EPISODES)]
    return [(episode[i + 1] - episode[i]) / (EPISODES[i + 1] - EPISODES[i]) for i in range(len(EPISODES) - 1)]


if __name__ == "__main__":
    main()
