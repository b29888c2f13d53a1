"""Package a preference-trained adapter as the shipped default, the way recipe v3's adapter was
made from v2's: the weights in fp16, adapter_config.json without this machine's paths,
tooltune_train.json, and a recipe.json (version 3) that records how it was made — the v2 SFT
record it continues, the v3 corpus its pairs were mined from, the draws, the mined and the mixed
pairs, the DPO run, and what was measured on it — so the shipped folder carries its own record, as
the recipe's export stage writes one for the adapters it trains.

Run (docs/results.md, "DPO run 4"; docs/dpo.md):
  PYTHONPATH=src python scripts/package_adapter.py ADAPTER DEST --corpus runs/v3-gpu \
      --pairs runs/dpo3/pairs.jsonl runs/dpo3/pairs2.jsonl --mix runs/dpo4/mix.jsonl \
      --previous src/tooltune/llm/adapters/smollm2-tools-v2 [--measured NAME=REPORT.json ...]
`--measured` keeps each report's summaries (a `tooltune bench bfcl` report.json, a held-out
`run_eval` report.json, a `tooltune bench chat --out` file).
"""

import argparse
import json
from pathlib import Path

from tooltune.llm.embedded import ADAPTER_CONFIG, is_adapter_dir
from tooltune.messages import write_text_atomic
from tooltune.recipe.export import write_adapter
from tooltune.recipe.state import RECIPE

# What made run 4 (docs/results.md, "DPO run 4"): the commands, in order.
COMMANDS = [
    "tooltune recipe smollm2-tools --out runs/v3-gpu --stages sources,corpus --n-synth 30000",
    "python scripts/draw_mine_items.py runs/v3-gpu/corpus/train.jsonl runs/dpo3/mine_items.jsonl 3 "
    "no_fit=50 knowledge=25 single=25 lookup=8 chat=7 parallel=5",
    "python scripts/draw_mine_items.py runs/v3-gpu/corpus/train.jsonl runs/dpo3/mine_items2.jsonl 4 no_fit=70 knowledge=30",
    "tooltune pairs mine --model embedded-v2 --data runs/dpo3/mine_items.jsonl --held-out runs/v3-gpu/eval/heldout_eval.jsonl "
    "--format json --weights int8 --max-tokens 128 --out runs/dpo3/pairs.jsonl   (and mine_items2 -> pairs2.jsonl)",
    "python scripts/mix_pairs.py runs/dpo4/mix.jsonl runs/dpo3/pairs.jsonl runs/dpo3/pairs2.jsonl too_few_calls=8 "
    "wrong_value=0 extra_argument=0 missing_argument=0 wrong_tool=0",
    "tooltune train --dpo --data runs/dpo4/mix.jsonl --ref src/tooltune/llm/adapters/smollm2-tools-v2 --format json --beta 0.1 "
    "--nll-weight 1.0 --lr 5e-5 --batch-size 1 --grad-accum 4 --max-length 2560 --epochs 1 --scheduler constant "
    "--warmup-ratio 0 --eval-split 0 --out runs/dpo4/train",
]


# The same adapter from the recipe alone: its prefer stage re-made run 4 bit for bit (the same
# draws, pairs and mix, the same 17 DPO losses, every weight equal; docs/results.md).
REPRODUCE = ["tooltune recipe smollm2-tools --out runs/v3-gpu --n-synth 30000 --stages sources,corpus",
             "tooltune recipe smollm2-tools --out runs/v3-gpu --n-synth 30000 --stages prefer --prefer-from v2 --eval-limit 80"]


def _summaries(path: Path) -> dict:
    """The per-model summaries of a report, not its per-item rows."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if "runs" in data:  # bench bfcl / run_eval reports
        return {f"{r['model']} · {r.get('format', '')}": r.get("summary") for r in data["runs"]}
    return {label: {k: v for k, v in res.items() if k != "rows"} if isinstance(res, dict) else res for label, res in data.items()}


def _pairs_record(paths: list[Path]) -> list[dict]:
    out = []
    for p in paths:
        report = json.loads(p.with_suffix(".report.json").read_text(encoding="utf-8"))
        out.append({"file": p.name, **{k: v for k, v in report.items() if k != "pairs_detail"}})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("adapter", type=Path)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--corpus", type=Path, required=True, help="the recipe folder whose corpus stage the pairs came from")
    ap.add_argument("--pairs", type=Path, nargs="+", required=True)
    ap.add_argument("--mix", type=Path, required=True)
    ap.add_argument("--previous", type=Path, required=True, help="the adapter this one continues (its recipe.json is nested)")
    ap.add_argument("--measured", nargs="*", default=[], help="NAME=REPORT.json")
    args = ap.parse_args()
    for folder in (args.adapter, args.previous):
        if not is_adapter_dir(folder):
            raise SystemExit(f"{folder} holds no adapter ({ADAPTER_CONFIG} missing)")
    train_info = json.loads((args.adapter / "tooltune_train.json").read_text(encoding="utf-8"))
    record = {
        "recipe": RECIPE, "version": 3,
        "made_by": "recipe v2's SFT adapter, then DPO + NLL on pairs mined where it fails on v3-corpus items (docs/training.md)",
        "commands": COMMANDS,
        "reproduce": REPRODUCE,
        "corpus": json.loads((args.corpus / "corpus" / "done.json").read_text(encoding="utf-8")),
        "prefer": {"pairs": _pairs_record(args.pairs), "mix_rows": sum(1 for _ in args.mix.open(encoding="utf-8")),
                   "dpo": {k: train_info.get(k) for k in ("format", "steps", "final_loss", "config")}},
        "measured": {m.split("=", 1)[0]: _summaries(Path(m.split("=", 1)[1])) for m in args.measured},
        "sft": json.loads((args.previous / "recipe.json").read_text(encoding="utf-8")),
    }
    write_adapter(args.adapter, args.dest)
    write_text_atomic(args.dest / "recipe.json", json.dumps(record, indent=2, ensure_ascii=False))
    print(f"packaged {args.adapter} -> {args.dest} ({sum(f.stat().st_size for f in args.dest.iterdir()) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
