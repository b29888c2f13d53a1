"""Tool-name and name+args accuracy of the first step with ALL held-out tools offered vs the BM25
top-k for the question, plus recall@k of the retrieval (issue #17, item 5). Same model, items and
format in one run; scored by eval's own step metrics (tooltune.eval.selection_accuracy).

Items: the recipe's held-out eval file (runs/smollm2-tools/eval/heldout_eval.jsonl) when present,
else --items. Pool: the held-out side of the tool bank (split_bank(load_bank(), 0.2)[1], 56 tools,
none seen in training), described in each item's language. Hard negatives are left out.
CPU heavy with the embedded model (every prompt lists all the tools): keep --limit small, use nice.
Run: PYTHONPATH=src nice -n 10 python benchmarks/selection_accuracy.py --limit 20 [--k 3] [--model PATH] [--format json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tooltune.data.synth.bank import load_bank, split_bank
from tooltune.errors import TooltuneError
from tooltune.eval.items import load_items
from tooltune.eval.runner import EvalSettings
from tooltune.eval.selection_accuracy import recall_at_k, selection_accuracy
from tooltune.lang import LANGS
from tooltune.llm import make_llm
from tooltune.messages import write_text_atomic

HELDOUT = Path(__file__).resolve().parents[1] / "runs" / "smollm2-tools" / "eval" / "heldout_eval.jsonl"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _int(value: int | None) -> str:
    return "–" if value is None else str(value)


def context_window(llm: object) -> int | None:
    """The model's context in tokens, where the backend exposes it (transformers config, llama.cpp n_ctx)."""
    config = getattr(getattr(llm, "model", None), "config", None)
    if getattr(config, "max_position_embeddings", None):
        return int(config.max_position_embeddings)
    llama = getattr(llm, "llama", None)
    return int(llama.n_ctx()) if llama is not None else None


def table(report: dict, title: str, pool: int) -> Table:
    t = Table(title=title)
    for col in ("tools offered", "name acc.", "name+args acc.", "valid", "recall@k", "items", "max prompt tok.", "over context"):
        t.add_column(col, justify="left" if col == "tools offered" else "right")
    for key, recall in (("all", 1.0), ("top_k", report["recall_at_k"])):
        row = report[key]  # name acc. = eval's tool name EM, name+args = args EM (AST); recall@k: the needed tool offered
        errors = f" ({row['backend_errors']} backend errors)" if row["backend_errors"] else ""
        t.add_row(f"all {pool} tools" if key == "all" else row["label"], _pct(row["tool_name_em"]), _pct(row["args_em"]), _pct(row["format_validity"]), _pct(recall),
                  f"{row['items']}{errors}", _int(row["max_prompt_tokens"]), _int(row["over_context"]))
    return t


def print_recall(items: list, pools: dict, pool: int) -> None:
    t = Table(title=f"BM25 recall@k among {pool} held-out tools")
    for col in ("k", "recall@k", "hits / items"):
        t.add_column(col, justify="right")
    for k in (1, 3, 5):
        hits, used = recall_at_k(items, pools, k)
        t.add_row(str(k), _pct(hits / used if used else None), f"{hits}/{used}")
    Console().print(t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", default=None, help=f"eval .jsonl (default: {HELDOUT.relative_to(HELDOUT.parents[4])} if present)")
    parser.add_argument("--model", default=None, help="model folder / .gguf / 'embedded' (default: the embedded tuned model)")
    parser.add_argument("--format", default="json")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="only the first N items (negatives included, then left out)")
    parser.add_argument("--lang", choices=LANGS, default=None, help="only items in this language (Chinese prompts with all "
                        "56 tools are ~8.3k tokens, past SmolLM2's 8192)")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--recall-only", action="store_true", help="only recall@1/3/5 of the retrieval (no model, seconds)")
    parser.add_argument("--out", default=None, help="write the report with every item's scored step to this JSON file")
    args = parser.parse_args()
    try:
        path = Path(args.items) if args.items else HELDOUT
        if not args.items and not HELDOUT.exists():
            raise TooltuneError(f"{HELDOUT} not found: run the recipe's eval stage first, or pass --items FILE.jsonl")
        if args.k < 1:
            raise TooltuneError("--k must be at least 1")
        items = [i for i in load_items(path) if args.lang in (None, i.lang)][: args.limit]
        if not items:
            raise TooltuneError(f"{path}: no items in language {args.lang!r}")
        held = split_bank(load_bank(), 0.2)[1]
        pools = {lang: [t.spec(lang) for t in held] for lang in LANGS}
        if args.recall_only:
            return print_recall(items, pools, len(held))
        llm = make_llm(args.model)
        settings = EvalSettings(format=args.format, max_tokens=args.max_tokens)
        report = selection_accuracy(llm, items, pools, args.k, settings, batch_size=args.batch_size, window=context_window(llm))
    except TooltuneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    if args.out:
        write_text_atomic(Path(args.out), json.dumps(report, ensure_ascii=False, indent=2))
    title = (f"first step with all {len(held)} held-out tools vs the BM25 top-{args.k}\n({args.model or 'embedded'}, {args.format}, "
             f"{report['items']} items; {report['skipped_no_call']} hard negatives left out)")
    console = Console()
    console.width = max(console.width, 110)  # the table is wide; keep its columns readable in logs
    console.print(table(report, title, len(held)))


if __name__ == "__main__":
    main()
