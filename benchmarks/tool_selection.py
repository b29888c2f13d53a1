"""Recall@k of tool selection on a held-out set: is the tool a query needs among the k offered?

Compares BM25 selection (tooltune.agent.selection) with the naive baseline of offering the first k
registered tools, on benchmarks/data/tool_selection.json (30 tools, 40 queries). With --model,
also measures whether the model's first step calls the needed tool when offered all tools vs the
BM25 top-k (CPU heavy with the embedded model; keep --limit small).
Run: PYTHONPATH=src python benchmarks/tool_selection.py [--k 1 3 5] [--model embedded --limit 10]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tooltune.agent.selection import ToolSelector
from tooltune.tools import ToolRegistry

DATA = Path(__file__).resolve().parent / "data" / "tool_selection.json"


def recall_table(data: dict, ks: list[int]) -> Table:
    selector = ToolSelector(data["tools"])
    queries = data["queries"]
    table = Table(title=f"tool selection recall@k ({len(queries)} held-out queries, {len(data['tools'])} tools)")
    table.add_column("selector")
    for k in ks:
        table.add_column(f"recall@{k}", justify="right")
    ranked = [selector.rank(q["query"]) for q in queries]
    table.add_row("BM25 (name + description + parameter docs)", *[f"{sum(q['tool'] in r[:k] for q, r in zip(queries, ranked)) / len(queries):.3f}" for k in ks])
    table.add_row("first k registered (baseline)", *[f"{sum(q['tool'] in selector.names[:k] for q in queries) / len(queries):.3f}" for k in ks])
    return table


def model_table(data: dict, model: str, k: int, limit: int, fmt: str) -> Table:
    """First-step accuracy (the needed tool is called) with all tools vs the BM25 top-k."""
    from tooltune.agent import Agent
    from tooltune.llm import make_llm

    llm = make_llm(model)
    registry = ToolRegistry.from_openai(data["tools"])  # schemas only: the first step is what is scored
    table = Table(title=f"first step calls the needed tool ({model}, {fmt}, {limit} queries)")
    table.add_column("tools offered")
    table.add_column("accuracy", justify="right")
    for label, max_tools in (("all 30", None), (f"BM25 top-{k}", k)):
        hits = 0
        for q in data["queries"][:limit]:
            agent = Agent(llm, registry, fmt, max_steps=1, max_format_retries=0, max_tools=max_tools, max_tokens=96)
            traj = agent.run(q["query"])
            calls = [c.name for m in traj.messages if m.role == "assistant" for c in m.tool_calls]
            hits += q["tool"] in calls
        table.add_row(label, f"{hits / limit:.3f} ({hits}/{limit})")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[1, 3, 5])
    parser.add_argument("--model", help="also run a model: 'embedded' or a model path")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--format", default="json")
    args = parser.parse_args()
    data = json.loads(DATA.read_text(encoding="utf-8"))
    console = Console()
    console.print(recall_table(data, args.k))
    if args.model:
        console.print(model_table(data, args.model, max(args.k), args.limit, args.format))


if __name__ == "__main__":
    main()
