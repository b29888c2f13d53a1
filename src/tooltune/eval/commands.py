"""`tooltune eval`: score a model's tool use on eval items and write a report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from tooltune.cli_options import (
    FORMAT_HELP, MODEL_SELECTION, REPORT_FOLDER_HELP, TOOLS_GRAMMAR_HELP, McpConfigOpt, ConstrainOpt, MaxTokensOpt, batch_size_option, compare_option, config_from,
    corpus_option, format_option, lang_option, out_option, tools_option,
)
from tooltune.errors import TooltuneError
from tooltune.eval.runner import EvalSettings
from tooltune.lang import LANG_HELP

E = EvalSettings  # the defaults of every scoring option


def _model_specs(model: str | None, compare: str | None, base_url: str | None, api_key: str | None, tool_role: str, backend: str = "auto", adapter: str | None = None,
                 weights: str = "fp32", server_opts: dict | None = None):
    """A ModelSpec per model (`--model` or the two of `--compare`), each loaded on first use;
    `server_opts` go to the OpenAI backend with `--base-url` (e.g. its concurrency)."""
    from tooltune.eval.evaluate import ModelSpec
    from tooltune.llm import check_backend, make_llm

    check_backend(backend)
    if compare:
        names = [n.strip() for n in compare.split(",")]
        if len(names) != 2 or not all(names):
            raise TooltuneError("--compare takes two models separated by a comma, e.g. --compare base_model,tuned_model (use 'embedded' for the built-in one)")
        if model:
            raise TooltuneError("use either --model or --compare, not both")
        if adapter:
            raise TooltuneError("--adapter goes with --model; with --compare, name a merged model folder (or 'embedded' / 'embedded-base') for each side")
    else:
        names = [model or "embedded"]
    opts = {"tool_role": tool_role, **(server_opts or {})} if base_url else {}
    if backend == "auto" and len(names) > 1 and not base_url and weights == "fp32":
        backend = _common_backend(names, adapter)

    def loader(name: str):
        return lambda: make_llm(name, base_url, api_key, adapter=adapter, backend=backend, weights=weights, **opts)

    labels = [Path(n).name or n for n in names]
    if len(set(labels)) < len(labels):
        labels = names
    return [ModelSpec(label, loader(name)) for label, name in zip(labels, names)]


def enforced_constraint(constrain: bool, model: str | None, compare: str | None, base_url: str | None, adapter: str | None,
                        backend: str, weights: str) -> bool:
    """`--constrain` as recorded: on only where every compared model's backend really enforces it,
    so a report never claims constraints a server (or llama.cpp) ignored."""
    from tooltune.llm import enforces_constraints

    names = [n.strip() for n in compare.split(",")] if compare else [model]
    return constrain and all(enforces_constraints(n, base_url, adapter=adapter, backend=backend, weights=weights) for n in names)


def _common_backend(names: list[str], adapter: str | None) -> str:
    """Compared models run on the same backend: llama.cpp (quantised) and transformers (fp32)
    write different text for the same weights, which would pass for a difference between models."""
    from tooltune.llm import prefers_llamacpp
    from tooltune.llm.embedded import resolve_model

    fits = []
    for name in names:
        base, shipped = resolve_model(name)
        fits.append(prefers_llamacpp(base, adapter or shipped))
    return "llamacpp" if all(fits) else "transformers"


@MODEL_SELECTION
def eval_command(
    data: Annotated[Optional[str], corpus_option("Eval .jsonl (canonical samples) or corpus.db (approved samples); default: the shipped smoke set")] = None,
    *, model, backend, adapter, weights,
    compare: Annotated[Optional[str], compare_option("Two models 'A,B' (base,tuned) side by side in one report")] = None,
    format: Annotated[Optional[str], format_option(f"One prompt format: {FORMAT_HELP} [default: {E.format}]")] = None,
    formats: Annotated[Optional[str], typer.Option(help="Several formats, e.g. react,json,native: reports the spread between them")] = None,
    base_url, api_key,
    out: Annotated[str, out_option(REPORT_FOLDER_HELP)] = "eval_report",
    max_tokens: MaxTokensOpt = E.max_tokens,
    batch_size: Annotated[int, batch_size_option()] = 4,
    lam: Annotated[float, typer.Option("--lambda", help="λ in Score = EM(tool) + λ·fuzzy(args)")] = E.lam,
    string_numbers: Annotated[bool, typer.Option(help='Accept "70" for 70 in arguments (type-lenient)')] = E.string_numbers,
    normalize_strings: Annotated[bool, typer.Option(help="Compare string arguments ignoring case and extra spaces")] = E.normalize_strings,
    prompt_lang: Annotated[str, lang_option(f"Prompt language: auto (each item's) | {LANG_HELP}", "--prompt-lang")] = E.prompt_lang,
    tool_role: Annotated[str, typer.Option(help="Role carrying tool results: user | tool")] = E.tool_role,
    free_run: Annotated[bool, typer.Option(help="Also run the agent freely (tools executed) for trajectory and end-to-end scores")] = E.free_run,
    extra_steps: Annotated[int, typer.Option(help="Free-running may take this many steps beyond the reference")] = E.extra_steps,
    plan: Annotated[bool, typer.Option("--plan", help="Also run each item through the Planner: plan-level success, plan_incomplete / plan_limit shares, sub-tasks and steps per item")] = E.plan,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N items")] = None,
    status: Annotated[str, typer.Option(help="With a corpus.db: which samples (approved | draft | rejected)")] = "approved",
    judge_model: Annotated[Optional[str], typer.Option(help="Model for answer_match 'judge' items")] = None,
    judge_base_url: Annotated[Optional[str], typer.Option(help="Server of the judge model")] = None,
    restart: Annotated[bool, typer.Option(help="Discard results already in --out instead of resuming")] = False,
    constrain: ConstrainOpt = True,  # on where the backend enforces it (EvalSettings' own default is off, for library callers)
    tools: Annotated[Optional[list[str]], tools_option("Implementations for free runs, bound by tool name (default: the built-ins), repeatable: " + TOOLS_GRAMMAR_HELP)] = None,
    execute: Annotated[bool, typer.Option("--execute", help="Let MCP tools that change state run in free runs")] = False,
    mcp_config: McpConfigOpt = None,
) -> None:
    """Evaluate tool use: call accuracy (AST + fuzzy), no-call accuracy, end-to-end success, per tool/language/format."""
    params = dict(locals())
    from rich.console import Console

    from tooltune.eval.evaluate import run_eval
    from tooltune.eval.items import load_items, smoke_eval_path

    if format and formats:
        raise TooltuneError("use either --format or --formats, not both")
    fmt_list = [f.strip() for f in (formats or format or E.format).split(",") if f.strip()]
    settings = config_from(EvalSettings, params, format=fmt_list[0])
    for f in fmt_list:
        replace(settings, format=f).validate()
    data_path = Path(data) if data else smoke_eval_path()
    items = load_items(data_path, status=status, limit=limit)
    specs = _model_specs(model, compare, base_url, api_key, tool_role, backend, adapter, weights)
    judge = None
    if judge_model or judge_base_url:
        from tooltune.eval.answers import AnswerJudge
        from tooltune.llm import make_llm

        judge = AnswerJudge(make_llm(judge_model, judge_base_url, api_key))
    settings = replace(settings, constrain=enforced_constraint(constrain, model, compare, base_url, adapter, backend, weights))
    implementations = None
    if tools or mcp_config:
        from tooltune.tools.sources import load_tools

        implementations = load_tools(tools or [], execute=execute, mcp_config=mcp_config)
    report = run_eval(items, specs, fmt_list, settings, out, str(data_path), batch_size=batch_size, judge=judge, restart=restart,
                      implementations=implementations)
    console = Console()
    _print_runs(report, console)
    console.print(f"report: {Path(out) / 'report.md'}")


def _print_runs(report: dict, console: Any) -> None:
    """One line of scores per model x format (or why it was not evaluated)."""
    for run in report["runs"]:
        if run["status"] != "ok":
            console.print(f"[yellow]{run['model']} · {run['format']}: not evaluated — {run['error']}[/]", highlight=False)
            continue
        if run["backend_errors"]:
            console.print(f"[yellow]{run['model']} · {run['format']}: {run['backend_errors']} items hit backend errors and are not scored "
                          f"(rerun to retry them)[/]", highlight=False)
        s = run["summary"]
        console.print(
            f"[bold]{run['model']} · {run['format']}[/]: valid {_pct(s['format_validity'])}, name EM {_pct(s['tool_name_em'])}, "
            f"args EM {_pct(s['args_em'])}, ROUGE-L {_pct(s['rouge_l'])}, no-call acc {_pct(s['no_call_accuracy'])}, "
            f"e2e {_pct(s['e2e_success'])}, score {s['score']:.3f}"
            + (f", plan-level success {_pct(s['plan_success'])} of {s['plan_items']}" if "plan_items" in s else ""), highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"
