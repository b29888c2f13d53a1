"""CLI for the corpus: generate, judge, rollout, import, export, corpus-stats (all on one corpus.db)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tooltune.cli_options import (
    DEFAULT_TOOLS, TOOLS_GRAMMAR_HELP, McpConfigOpt, ApiKeyOpt, BaseUrlOpt, MaxTokensOpt, agent_steps_option, batch_size_option, corpus_option, format_option,
    lang_option, max_tokens_option, model_option, out_option, tools_option,
)
from tooltune.data.rollout import RolloutConfig
from tooltune.errors import TooltuneError
from tooltune.lang import LANG_HELP

console = Console(stderr=True)
R = RolloutConfig  # the defaults of `rollout`
DbOpt = Annotated[str, corpus_option("The corpus database (created if missing)")]
ModelOpt = Annotated[Optional[str], model_option("HF model folder or .gguf (default: embedded SmolLM2); with --base-url, the served model name")]
ToolsOpt = Annotated[list[str], tools_option(TOOLS_GRAMMAR_HELP)]
LangOpt = Annotated[str, lang_option(LANG_HELP)]


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console)


def _llm(model: str | None, base_url: str | None, api_key: str | None):
    from tooltune.llm import make_llm

    with console.status(f"loading {model or base_url or 'the embedded SmolLM2-135M-Instruct'}…"):
        return make_llm(model, base_url, api_key)


def _existing_store(db: str):
    """Commands that read a corpus must not silently create an empty one from a typo."""
    from tooltune.data.store import Store

    if not Path(db).exists():
        raise TooltuneError(f"{db}: no such corpus: create it with `tooltune generate` or `tooltune import`, or fix --data")
    return Store(db)


def _registry(tools: list[str], mcp_config: str | None = None):
    from tooltune.tools.sources import load_tools

    return load_tools(tools, mcp_config=mcp_config)


def generate(
    db: DbOpt = "corpus.db", tools: ToolsOpt = [DEFAULT_TOOLS], mcp_config: McpConfigOpt = None, lang: LangOpt = "en",
    count: Annotated[int, typer.Option(help="Generated questions the db should hold for this language (positives + negatives)")] = 20,
    negatives: Annotated[float, typer.Option(help="Share of hard negatives (no tool needed): 0.2 = 4:1")] = 0.2,
    style: Annotated[Optional[str], typer.Option(help="Extra instruction on style, e.g. 'casual, with typos'")] = None,
    prompt: Annotated[Optional[str], typer.Option(help="Override the question prompt (file or text with $tools $count $style)")] = None,
    negative_prompt: Annotated[Optional[str], typer.Option(help="Override the hard-negative prompt (file or text)")] = None,
    batch_size: Annotated[int, batch_size_option("Requests per round (batched locally, concurrent on a server)")] = 4,
    per_request: Annotated[int, typer.Option(help="Questions asked for in one request")] = 10,
    temperature: Annotated[float, typer.Option(help="Sampling temperature (variety)")] = 0.8,
    max_tokens: Annotated[int, max_tokens_option("Token budget per request")] = 400,
    model: ModelOpt = None, base_url: BaseUrlOpt = None, api_key: ApiKeyOpt = None,
) -> None:
    """Have an LLM write questions that need the tools (plus hard negatives); resumable."""
    from tooltune.data.generate import generate_questions, split_counts
    from tooltune.data.store import Store

    targets = split_counts(count, negatives)
    specs = _registry(tools, mcp_config).to_openai()
    store = Store(db)
    llm = _llm(model, base_url, api_key)
    with _progress() as bar:
        tasks = {k: bar.add_task(f"{k} questions", total=v) for k, v in targets.items()}
        for kind in targets:
            held = sum(1 for q in store.questions(kind=kind, lang=lang) if q.source == "generated")
            bar.update(tasks[kind], completed=min(held, targets[kind]))
        report = generate_questions(
            store, llm, specs, lang, count, negatives, style, prompt, negative_prompt, batch_size, per_request,
            temperature, max_tokens, on_progress=lambda kind, n: bar.advance(tasks[kind], n))
    console.print(f"added {report.added['positive']} questions and {report.added['negative']} hard negatives "
                  f"({report.duplicates} duplicates refused, {report.rounds} rounds); "
                  f"the db holds {report.held.get('positive', 0)}/{targets['positive']} and {report.held.get('negative', 0)}/{targets['negative']}")
    if any(report.held.get(k, 0) < v for k, v in targets.items()):
        console.print("[yellow]the model stopped producing new questions; re-run to continue, or raise --temperature[/]")


def judge(
    db: DbOpt = "corpus.db", lang: Annotated[Optional[str], lang_option("Only questions in this language")] = None,
    prompt: Annotated[Optional[str], typer.Option(help="Override the judge prompt (file or text with $tools $question)")] = None,
    batch_size: Annotated[int, batch_size_option("Questions judged per round")] = 8,
    max_tokens: Annotated[int, max_tokens_option("Token budget per verdict")] = 96,
    rejudge: Annotated[bool, typer.Option(help="Judge questions that already have a verdict again")] = False,
    model: ModelOpt = None, base_url: BaseUrlOpt = None, api_key: ApiKeyOpt = None,
) -> None:
    """Ask an LLM judge whether each question truly needs a tool (是/否 + reason); resumable."""
    from tooltune.data.judge import judge_questions

    store = _existing_store(db)
    todo = sum(1 for q in store.questions(lang=lang) if rejudge or q.judge_verdict in (None, "unclear"))
    if not todo:
        console.print("nothing to judge: every question has a verdict (use --rejudge to judge again)")
        return
    llm = _llm(model, base_url, api_key)
    with _progress() as bar:
        task = bar.add_task("judging", total=todo)
        counts = judge_questions(store, llm, lang, prompt, batch_size, max_tokens, rejudge,
                                 on_progress=lambda n: bar.advance(task, n))
    for key, n in sorted(counts.items()):
        console.print(f"  {key}: {n}")


def rollout(
    db: DbOpt = "corpus.db", tools: ToolsOpt = [DEFAULT_TOOLS], mcp_config: McpConfigOpt = None,
    format: Annotated[str, format_option()] = R.fmt,
    max_steps: Annotated[int, agent_steps_option("Model steps per question")] = R.max_steps,
    max_tokens: MaxTokensOpt = R.max_tokens,
    batch_size: Annotated[int, batch_size_option("Conversations stepped together")] = R.batch_size,
    sequential: Annotated[bool, typer.Option(help="One question at a time (no batching)")] = not R.batched,
    limit: Annotated[Optional[int], typer.Option(help="Roll out at most this many questions")] = None,
    retry_failed: Annotated[bool, typer.Option(help="Redo questions whose rollout failed")] = R.retry_failed,
    system: Annotated[Optional[str], typer.Option(help="System prompt for every conversation")] = R.system,
    model: ModelOpt = None, base_url: BaseUrlOpt = None, api_key: ApiKeyOpt = None,
) -> None:
    """Run the agent over the kept questions: draft trajectories, tools executed for real; resumable."""
    from tooltune.data.rollout import pending_questions
    from tooltune.data.rollout import rollout as run_rollout
    from tooltune.formats import get_format

    fmt = get_format(format)
    store = _existing_store(db)
    registry = _registry(tools, mcp_config)
    todo = len(pending_questions(store, retry_failed, limit))
    if not todo:
        console.print("nothing to roll out: no approved question without a rollout (run `tooltune judge` first?)")
        return
    llm = _llm(model, base_url, api_key)
    config = RolloutConfig(fmt, max_steps, max_tokens, batch_size, not sequential, system, retry_failed=retry_failed)
    with _progress() as bar:
        task = bar.add_task("rollouts", total=todo)
        counts = run_rollout(store, llm, registry, config, limit, on_progress=lambda n: bar.advance(task, n))
    for key, n in sorted(counts.items()):
        console.print(f"  {key}: {n}")


def import_cmd(
    path: Annotated[str, typer.Argument(help="JSONL or JSON-array file")],
    db: DbOpt = "corpus.db",
    format: Annotated[str, format_option("auto | openai | sharegpt | glaive | ms_agent | agentfabric | alpaca")] = "auto",
    on_error: Annotated[str, typer.Option(help="skip: report bad records and go on | fail: stop at the first")] = "skip",
    status: Annotated[str, typer.Option(help="Status of imported samples: draft | approved")] = "draft",
) -> None:
    """Import samples from another format into the store (re-importing skips what is stored)."""
    from tooltune.data.io import import_file
    from tooltune.data.store import Store

    report = import_file(Store(db), path, format, on_error, status)
    for err in report.errors:
        console.print(f"[yellow]skipped[/] {escape(err)}", highlight=False)
    console.print(f"imported {report.added} samples {report.formats or ''}, {report.already_stored} already stored, "
                  f"{len(report.errors)} bad records skipped")


def export(
    out: Annotated[str, out_option("JSONL file to write")],
    db: DbOpt = "corpus.db",
    format: Annotated[str, format_option("openai | sharegpt | react | agentfabric | alpaca | dpo (preference pairs from human edits)")] = "openai",
    status: Annotated[str, typer.Option(help="Comma-separated statuses to export")] = "approved",
    with_errors: Annotated[bool, typer.Option(help="Include samples whose rollout ended in an error")] = False,
) -> None:
    """Export samples as JSONL in another format (written atomically)."""
    from tooltune.data.io import export_file

    n = export_file(_existing_store(db), out, format, tuple(s.strip() for s in status.split(",") if s.strip()), with_errors)
    console.print(f"wrote {n} {'preference pairs' if format == 'dpo' else 'samples'} to {out} ({format})")
    if not n and format == "dpo":
        console.print(f"[yellow]no {status} sample has a model-written step a person changed: edit some on the annotation page[/]")
    elif not n:
        console.print(f"[yellow]no sample has status {status}: approve some, or pass --status draft[/]")


def corpus_stats(db: DbOpt = "corpus.db") -> None:
    """Counts of questions and samples by kind and status, and the human rubric (per status)."""
    from tooltune.data.rubric import human_rubric

    store = _existing_store(db)
    stats: dict = store.counts()
    stats["human_rubric"] = {status: human_rubric(store.human_scores(status)) for status in stats["samples"]}
    print(json.dumps(stats, indent=2, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    app.command()(generate)
    app.command()(judge)
    app.command()(rollout)
    app.command("import")(import_cmd)
    app.command()(export)
    app.command("corpus-stats")(corpus_stats)
