"""The recipe's own held-out evaluation of one adapter, without the base model: json, the first
80 held-out items, tools executed by the simulated registry — what `tooltune recipe … --stages eval
--eval-limit 80 --eval-formats json` measures for "tuned", for comparing adapters side by side.

Run: `PYTHONPATH=src python scripts/eval_heldout.py LABEL ADAPTER_DIR OUT_DIR [RECIPE_OUT]`
(RECIPE_OUT holds eval/heldout_eval.jsonl, written from the bank's held-out side if missing).
"""

import sys

from tooltune.data.synth.corpus import simulated_registry
from tooltune.eval.evaluate import ModelSpec, run_eval
from tooltune.eval.items import load_items
from tooltune.eval.runner import EvalSettings
from tooltune.llm import make_llm
from tooltune.recipe.heldout import heldout_items
from tooltune.recipe.state import RecipeConfig

label, adapter, out = sys.argv[1:4]
cfg = RecipeConfig(out=sys.argv[4] if len(sys.argv) > 4 else "runs/v3")
path, held = heldout_items(cfg)
items = load_items(path, limit=80)
spec = ModelSpec(label, lambda: make_llm("embedded-base", adapter=adapter, backend="transformers", device="cpu"))
report = run_eval(items, [spec], ["json"], EvalSettings(max_tokens=128, free_run=True, extra_steps=1), out, "held-out tools", batch_size=4,
                  implementations=simulated_registry(held))
for r in report["runs"]:
    print(label, r["format"], r.get("summary"))
