"""How sure the model is that it should call, at the first token of a step: P(the token that
opens a call). Asks whether a threshold on it could stop calls where no tool fits (BFCL
irrelevance) without costing the calls that are due (own held-out): a decoding-time fix needs
the two apart. Prints, per group, the share of steps at or above each threshold.

Run: PYTHONPATH=src python scripts/probe_call_prob.py OUT.jsonl [BFCL_LIMIT=100] [HELDOUT_LIMIT=80] [ADAPTER]
(json format, the prompts `tooltune bench bfcl` and the held-out eval send; resumes from OUT.jsonl)
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

import torch

from tooltune.data.synth.bank import load_bank, split_bank
from tooltune.data.synth.corpus import eval_items, split_chat
from tooltune.eval.bench import BenchSettings, _agent
from tooltune.eval.bfcl import load_items as bfcl_items
from tooltune.eval.items import load_items
from tooltune.eval.runner import EvalRunner, EvalSettings
from tooltune.llm import make_llm
from tooltune.messages import write_jsonl_atomic
from tooltune.recipe.state import RecipeConfig

THRESHOLDS = (0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.98, 0.99)


def main(out: Path, bfcl_limit: int, heldout_limit: int, adapter: str | None) -> None:
    llm = make_llm("embedded-base" if adapter else "embedded", adapter=adapter, backend="transformers", device="cpu")
    tok = llm.tokenizer
    opens = [i for i in range(len(tok)) if (s := tok.decode([i])) and "<tool_call>".startswith(s)]
    rows = [json.loads(line) for line in out.open()] if out.exists() else []
    done = {r["id"] for r in rows}

    def record(key: str, group: str, request) -> None:
        if key in done:
            return
        with torch.no_grad():
            logits = llm.model(torch.tensor([llm.prompt_ids(request)])).logits[0, -1].float()
        row = {"id": key, "group": group, "p": float(torch.softmax(logits, -1)[opens].sum())}
        rows.append(row)
        with out.open("a") as f:
            f.write(json.dumps(row) + "\n")

    settings = BenchSettings(format="json", constrain=True)
    for item in bfcl_items(["simple_python", "multiple", "parallel", "irrelevance"], limit=bfcl_limit):
        record(item.id, f"bfcl {item.category}", _agent(llm, item, settings).request(item.messages))
    cfg = RecipeConfig()
    _, held = split_bank(load_bank(), cfg.held_out)
    path = out.with_suffix(".heldout.jsonl")  # the recipe's held-out items (recipe/heldout.py), without the leak check
    if not path.exists():
        write_jsonl_atomic(path, eval_items(held, split_chat()[1], cfg.eval_per_tool, seed=cfg.seed + 1))
    runner = EvalRunner(llm, EvalSettings(format="json", constrain=True))
    for item in load_items(path, limit=heldout_limit):
        agent, _ = runner.agent_for(item)
        for k, ref in enumerate(item.reference_steps()):
            group = "held-out call step" if ref.expected else ("held-out answer step" if item.expect_tool_call else "held-out hard negative")
            record(f"{item.id}#{k}", group, agent.request(ref.prefix))
    groups = defaultdict(list)
    for r in rows:
        groups[r["group"]].append(r["p"])
    print(f"{'group':<24} {'n':>4} " + " ".join(f"≥{t:<5}" for t in THRESHOLDS))
    for name, ps in sorted(groups.items()):
        print(f"{name:<24} {len(ps):>4} " + " ".join(f"{sum(p >= t for p in ps) / len(ps):6.2f}" for t in THRESHOLDS))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]), int(args[1]) if len(args) > 1 else 100, int(args[2]) if len(args) > 2 else 80, args[3] if len(args) > 3 else None)
