"""CLI: `tooltune pairs mine`: preference pairs from the model's own mistakes (eval/mine.py)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from tooltune.cli_options import (
    MODEL_SELECTION, MaxTokensOpt, batch_size_option, corpus_option, format_option, out_option,
)
from tooltune.errors import TooltuneError

console = Console(stderr=True)
pairs_app = typer.Typer(no_args_is_help=True, help="Preference pairs for `tooltune train --dpo`.")


def _held_out_names(path: str | None) -> set[str]:
    """Tool names of an eval set (its items' tools) that mining must never touch."""
    if path is None:
        return set()
    from tooltune.eval.mine import held_out_names
    from tooltune.eval.items import load_items

    return held_out_names(load_items(path))


def mine_log_dir(out: str, *settings: Any) -> Path:
    """Where `pairs mine` keeps each item's scored steps as it goes (a rerun with the same model and
    settings resumes from it): beside `out`, one folder per model and settings."""
    key = hashlib.sha256(json.dumps([str(s) for s in settings]).encode()).hexdigest()[:12]
    return Path(out).with_suffix(".mine") / key


@pairs_app.command("mine")
@MODEL_SELECTION
def mine(
    data: Annotated[str, corpus_option("Train-side items: a corpus.db (approved samples) or a .jsonl of samples with reference steps")],
    *, model, base_url, api_key, adapter, backend, weights,
    format: Annotated[str, format_option("Prompt format(s) to run the model in, comma-separated: json | react | native")] = "json",
    held_out: Annotated[Optional[str], typer.Option("--held-out", help="An eval .jsonl (or corpus.db) whose tools are never mined: items offering one are skipped")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N items")] = None,
    batch_size: Annotated[int, batch_size_option()] = 4,
    max_tokens: MaxTokensOpt = 256,
    out: Annotated[str, out_option("Where to write the pairs (TRL rows, as `export --format dpo`); a report goes beside it")] = "pairs.jsonl",
) -> None:
    """Run the model teacher-forced over train-side items; pair each wrong step (rejected) with the reference step (chosen)."""
    from tooltune.data.benchmark_data import refuse_benchmark_data
    from tooltune.eval.mine import mine_pairs
    from tooltune.eval.items import load_items
    from tooltune.eval.runner import load_results
    from tooltune.formats import get_format
    from tooltune.llm import make_llm
    from tooltune.messages import write_jsonl_atomic, write_text_atomic

    formats = [f.strip() for f in format.split(",") if f.strip()]
    for f in formats:
        get_format(f)
    refuse_benchmark_data(data)
    items = load_items(data, limit=limit)
    excluded = _held_out_names(held_out)
    with console.status(f"loading {model or base_url or 'the embedded model'}…"):
        llm = make_llm(model, base_url, api_key, adapter=adapter, backend=backend, weights=weights)
    from tqdm import tqdm

    log_dir = mine_log_dir(out, model, base_url, adapter, weights, max_tokens)
    done = sum(len(load_results(p)) for p in log_dir.glob("*.jsonl"))
    with tqdm(total=len(items) * len(formats), initial=done, desc="mining", unit="item", file=None) as bar:
        result = mine_pairs(llm, items, formats, excluded, batch_size, max_tokens, on_item=lambda _: bar.update(1), log_dir=log_dir)
    if result.held_out_skipped == len(items):
        raise TooltuneError(f"every item of {data} offers a tool of --held-out {held_out}: mine on the train side")
    write_jsonl_atomic(out, [p.to_trl() for p in result.pairs])
    report = Path(out).with_suffix(".report.json")
    write_text_atomic(report, json.dumps({**result.summary(), "data": str(data), "model": model, "adapter": adapter, "formats": formats,
                                          "pairs_detail": result.records}, indent=1, ensure_ascii=False))
    s = result.summary()
    kinds = ", ".join(f"{k} {n}" for k, n in s["kinds"].items() if n) or "none"
    console.print(f"{s['steps']} steps scored: {s['right']} right, {s['unparsable']} unparsable (no pair), {len(result.pairs)} pairs ({kinds}); "
                  f"{s['duplicates']} duplicates, {s['held_out_skipped']} items skipped for held-out tools, {s['backend_errors']} backend errors")
    console.print(f"[bold green]wrote[/] {len(result.pairs)} pairs -> {out} (report: {report}); train with: tooltune train --dpo --data {out} --ref ADAPTER")


def register(app: typer.Typer) -> None:
    app.add_typer(pairs_app, name="pairs")
