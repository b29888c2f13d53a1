"""`tooltune bench bfcl`: the Berkeley Function Calling Leaderboard on any model or endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tooltune.cli_options import (
    MODEL_SELECTION, REPORT_FOLDER_HELP, ConstrainOpt, batch_size_option, format_option, lang_option,
    max_tokens_option, out_option,
)
from tooltune.errors import TooltuneError
from tooltune.lang import LANG_HELP

bench_app = typer.Typer(no_args_is_help=True, help="Standard tool-calling benchmarks (BFCL) on any model or endpoint.")


@bench_app.command("bfcl")
@MODEL_SELECTION
def bfcl_command(
    *, model, adapter, compare, base_url, api_key, backend, weights,
    constrain: ConstrainOpt = True,
    categories: Annotated[Optional[str], typer.Option(help="Comma-separated BFCL categories, or 'all' (default: simple_python,multiple,parallel,irrelevance)")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Items per category (after shuffling with --seed); default: all")] = None,
    seed: Annotated[int, typer.Option(help="Shuffle seed of each category's items")] = 0,
    format: Annotated[Optional[str], format_option("json | react | native (default: json locally, native with --base-url)")] = None,
    lang: Annotated[str, lang_option(f"Prompt language of the format: {LANG_HELP}")] = "en",
    max_tokens: Annotated[int, max_tokens_option("Token budget per completion")] = 256,
    batch_size: Annotated[int, batch_size_option("Completions generated together (local) or sent at once (endpoint)")] = 8,
    out: Annotated[str, out_option(REPORT_FOLDER_HELP)] = "bench_report",
    restart: Annotated[bool, typer.Option(help="Discard results already in --out instead of resuming")] = False,
) -> None:
    """Run BFCL (data and AST checker from the bfcl-eval package) and write report.json, report.md, bfcl.png."""
    from rich.console import Console

    from tooltune.eval.bench import BenchSettings, run_bench
    from tooltune.eval.bench_report import markdown_table, write_report
    from tooltune.eval.bfcl import load_items, parse_categories
    from tooltune.eval.commands import _model_specs, enforced_constraint
    if batch_size < 1:
        raise TooltuneError("--batch-size must be at least 1")
    constrain = enforced_constraint(constrain, model, compare, base_url, adapter, backend, weights)
    settings = BenchSettings(format=format or ("native" if base_url else "json"), lang=lang, max_tokens=max_tokens, constrain=constrain)
    settings.validate()
    names = parse_categories(categories)
    items = load_items(names, limit=limit, seed=seed)
    extra = {"concurrency": batch_size} if base_url else {}
    specs = _model_specs(model, compare, base_url, api_key, "user", backend, adapter, weights, extra)
    runs = run_bench(items, specs, settings, out, batch_size=batch_size, restart=restart)
    report = write_report(out, runs, names, settings, {"limit": limit, "seed": seed, "base_url": base_url, "weights": weights})
    console = Console()
    console.print(markdown_table(report), highlight=False)
    for run in runs:
        if run.backend_errors:
            first = next(iter(run.backend_errors.values()))
            console.print(f"[yellow]{run.model}: {len(run.backend_errors)} items hit backend errors and are not scored "
                          f"(rerun to retry them); first: {first}[/]", highlight=False)
    console.print(f"report: {Path(out) / 'report.md'} · chart: {Path(out) / 'bfcl.png'}")


@bench_app.command("chat")
@MODEL_SELECTION
def chat_command(
    *, model, adapter, compare, base_url, api_key, backend,
    format: Annotated[str, format_option("json | react | native")] = "json",
    out: Annotated[Optional[str], out_option("Write every answer with its verdict to this JSON file")] = None,
) -> None:
    """General chat with tools offered: held-out knowledge and small-talk questions, answered / refused / called."""
    import json

    from rich.console import Console

    from tooltune.data.synth.bank import load_bank, split_bank
    from tooltune.data.synth.corpus_v3 import knowledge_check_items
    from tooltune.eval.chat_check import chat_check
    from tooltune.eval.commands import _model_specs
    from tooltune.messages import write_text_atomic

    items = knowledge_check_items()
    pool = [t.spec("en") for t in split_bank(load_bank(), 0.2)[1]]
    specs = _model_specs(model, compare, base_url, api_key, "user", backend, adapter, "fp32", {})
    console, results = Console(), {}
    for spec in specs:
        res = chat_check(spec.load(), items, pool, format)
        results[spec.label] = res
        console.print(f"{spec.label} · {format}: {res['answered']}/{res['items']} answered, {res['refused']} refused, "
                      f"{res['called']} called a tool, {res['invalid']} invalid", highlight=False)
    if out:
        write_text_atomic(Path(out), json.dumps(results, indent=1, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
