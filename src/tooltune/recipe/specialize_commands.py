"""`tooltune specialize --tools SOURCE… --out DIR`: train the model on your own tools (recipe/specialize.py)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from tooltune.cli_options import TOOLS_GRAMMAR_HELP, McpConfigOpt, lang_option, model_option, out_option, tools_option, training_option
from tooltune.recipe.specialize import SpecializeConfig

S = SpecializeConfig


def specialize(
    tools: Annotated[list[str], tools_option(TOOLS_GRAMMAR_HELP)],
    out: Annotated[str, out_option("Output folder; rerunning the same command resumes")],
    lang: Annotated[Optional[str], lang_option("Request languages, comma-separated: en,zh (default: the languages of the tool descriptions)")] = None,
    minutes: Annotated[float, typer.Option(help="Time budget of the whole run (synthesis, training, evaluation)")] = S.minutes,
    review: Annotated[bool, typer.Option("--review", help="Write the corpus to a store for `tooltune annotate` and train only on the approved samples")] = False,
    model: Annotated[Optional[str], model_option("Base model: the embedded SmolLM2 by default, or an HF model folder")] = None,
    init_adapter: Annotated[Optional[str], training_option("init_adapter", "Adapter to start from (default: the shipped one; 'none' for a fresh LoRA)")] = None,
    samples: Annotated[int, typer.Option(help="Training samples to synthesise (training uses what the time budget allows)")] = S.samples,
    held_out: Annotated[int, typer.Option(help="Held-out requests scored before and after")] = S.held_out,
    lr: Annotated[float, training_option("lr", "Learning rate")] = S.lr,
    execute: Annotated[bool, typer.Option("--execute", help="Let MCP tools run for real during synthesis (they may change state)")] = False,
    mcp_config: McpConfigOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed")] = S.seed,
) -> None:
    """Make the model good at YOUR tools: a corpus from their schemas, training on the CPU, and the
    held-out score before and after, in DIR/report.md."""
    from rich.console import Console

    from tooltune.recipe.specialize import Run

    console = Console()
    langs = [part.strip() for part in (lang or "").split(",") if part.strip()]
    cfg = SpecializeConfig(list(tools), out, langs, minutes, review, model, init_adapter, samples, held_out, lr, execute, mcp_config, seed)
    summary = Run(cfg, log=lambda line: console.print(line, highlight=False)).run()
    before, after = summary["before"], summary["after"]

    def pct(value: float | None) -> str:
        return "–" if value is None else f"{100 * value:.1f} %"

    console.print(f"[bold green]done[/] in {summary['minutes']} minutes: tool + exact arguments {pct(before.get('args_em'))} -> "
                  f"{pct(after.get('args_em'))}, no call where none is due {pct(before.get('no_call_accuracy'))} -> {pct(after.get('no_call_accuracy'))}")
    console.print(f"report: {out}/report.md; adapter: {out}/adapter (tooltune run … --adapter {out}/adapter)")


def register(app: typer.Typer) -> None:
    app.command("specialize")(specialize)
