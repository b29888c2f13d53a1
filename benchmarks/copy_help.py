"""What copy help (`tooltune.llm.copying`) changes on BFCL: the same items, constrained json,
greedy, decoded twice in one process — copy bonus 0, then the default — and scored by BFCL's
AST checker. Prints valid items per category for both, and every item whose calls changed.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/copy_help.py [--model embedded] [--adapter DIR] [--limit 50]
"""

from __future__ import annotations

import argparse
import json

from tooltune.eval.bench import BenchSettings, _agent, score_item
from tooltune.eval.bfcl import DEFAULT_CATEGORIES, load_items
from tooltune.llm import make_llm
from tooltune.llm.constrain import GuideFactory
from tooltune.llm.copying import DEFAULT_BONUS


def run(llm, items, bonus: float, batch_size: int) -> dict[str, dict]:
    llm._guides = GuideFactory(llm.tokenizer, llm._eos_ids, copy_bonus=bonus)
    settings = BenchSettings(constrain=True)
    results = {}
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        agents = [_agent(llm, item, settings) for item in chunk]
        for item, agent, completion in zip(chunk, agents, llm.complete_each([a.request(i.messages) for a, i in zip(agents, chunk)])):
            results[item.id] = score_item(item, agent, completion)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--adapter")
    parser.add_argument("--categories", default=",".join(DEFAULT_CATEGORIES))
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    items = load_items(args.categories.split(","), limit=args.limit, seed=0)
    llm = make_llm(args.model, adapter=args.adapter, backend="transformers")
    off, on = run(llm, items, 0.0, args.batch_size), run(llm, items, DEFAULT_BONUS, args.batch_size)
    print(f"| category | copy help off | copy help on (bonus {DEFAULT_BONUS:g}) |\n|---|---|---|")
    for category in args.categories.split(","):
        ids = [i.id for i in items if i.category == category]
        print(f"| {category} | {sum(off[i]['valid'] for i in ids)}/{len(ids)} | {sum(on[i]['valid'] for i in ids)}/{len(ids)} |")
    print("\nChanged items (off → on):")
    for item in items:
        a, b = off[item.id], on[item.id]
        if a["calls"] != b["calls"]:
            print(f"- {item.id}: {a['valid']} → {b['valid']}\n    off {json.dumps(a['calls'], ensure_ascii=False)[:200]}"
                  f"\n    on  {json.dumps(b['calls'], ensure_ascii=False)[:200]}")


if __name__ == "__main__":
    main()
