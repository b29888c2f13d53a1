"""`tooltune eval`: score a model's tool use on eval items and write a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from tooltune.cli_options import constrain_option, corpus_option, weights_option
from tooltune.errors import TooltuneError
from tooltune.lang import LANG_CHOICES, LANG_HELP, check_lang


def _model_specs(model: str | None, compare: str | None, base_url: str | None, api_key: str | None, tool_role: str, backend: str = "auto", adapter: str | None = None,
                 weights: str = "fp32", server_opts: dict | None = None):
    """A ModelSpec per model (`--model` or the two of `--compare`), each loaded on first use;
    `server_opts` go to the OpenAI backend with `--base-url` (e.g. its concurrency)."""
    from tooltune.eval.evaluate import ModelSpec
    from tooltune.llm import make_llm

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


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_command(
        data: Annotated[Optional[str], corpus_option("Eval .jsonl (canonical samples) or corpus.db (approved samples); default: the shipped smoke set")] = None,
        model: Annotated[Optional[str], typer.Option(help="embedded (default: SmolLM2 + shipped adapter) | embedded-base | HF model folder | .gguf; with --base-url, the served model name")] = None,
        backend: Annotated[str, typer.Option(help="Local backend: auto (llama.cpp for a .gguf when installed) | transformers | llamacpp")] = "auto",
        adapter: Annotated[Optional[str], typer.Option(help="LoRA adapter on top of --model (PEFT folder, or GGUF LoRA for llama.cpp)")] = None,
        weights: Annotated[str, weights_option()] = "fp32",
        compare: Annotated[Optional[str], typer.Option(help="Two models 'A,B' (base,tuned) side by side in one report")] = None,
        format: Annotated[Optional[str], typer.Option("--format", help="One prompt format: react | json | native")] = None,
        formats: Annotated[Optional[str], typer.Option(help="Several formats, e.g. react,json,native: reports the spread between them")] = None,
        base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible server, e.g. http://localhost:8000/v1")] = None,
        api_key: Annotated[Optional[str], typer.Option(envvar="OPENAI_API_KEY", help="API key for --base-url")] = None,
        out: Annotated[str, typer.Option(help="Report folder (also holds the per-item results that make a rerun resume)")] = "eval_report",
        max_tokens: Annotated[int, typer.Option(help="Token budget per step")] = 256,
        batch_size: Annotated[int, typer.Option(help="Completions generated together")] = 4,
        lam: Annotated[float, typer.Option("--lambda", help="λ in Score = EM(tool) + λ·fuzzy(args)")] = 1.0,
        string_numbers: Annotated[bool, typer.Option(help='Accept "70" for 70 in arguments (type-lenient)')] = False,
        normalize_strings: Annotated[bool, typer.Option(help="Compare string arguments ignoring case and extra spaces")] = False,
        prompt_lang: Annotated[str, typer.Option(help=f"Prompt language: auto (each item's) | {LANG_HELP}")] = "auto",
        tool_role: Annotated[str, typer.Option(help="Role carrying tool results: user | tool")] = "user",
        free_run: Annotated[bool, typer.Option(help="Also run the agent freely (tools executed) for trajectory and end-to-end scores")] = True,
        extra_steps: Annotated[int, typer.Option(help="Free-running may take this many steps beyond the reference")] = 1,
        plan: Annotated[bool, typer.Option("--plan", help="Also run each item through the Planner: plan-level success, plan_incomplete / plan_limit shares, sub-tasks and steps per item")] = False,
        limit: Annotated[Optional[int], typer.Option(help="Only the first N items")] = None,
        status: Annotated[str, typer.Option(help="With a corpus.db: which samples (approved | draft | rejected)")] = "approved",
        judge_model: Annotated[Optional[str], typer.Option(help="Model for answer_match 'judge' items")] = None,
        judge_base_url: Annotated[Optional[str], typer.Option(help="Server of the judge model")] = None,
        restart: Annotated[bool, typer.Option(help="Discard results already in --out instead of resuming")] = False,
        constrain: Annotated[bool, constrain_option()] = True,
    ) -> None:
        """Evaluate tool use: call accuracy (AST + fuzzy), no-call accuracy, end-to-end success, per tool/language/format."""
        from rich.console import Console

        from tooltune.eval.evaluate import run_eval
        from tooltune.eval.items import load_items, smoke_eval_path
        from tooltune.eval.runner import EvalSettings
        from tooltune.formats import FORMATS

        if format and formats:
            raise TooltuneError("use either --format or --formats, not both")
        fmt_list = [f.strip() for f in (formats or format or "react").split(",") if f.strip()]
        for f in fmt_list:
            if f not in FORMATS:
                raise TooltuneError(f"unknown format {f!r}: use one of {', '.join(FORMATS)}")
        check_lang(prompt_lang, "--prompt-lang", LANG_CHOICES)
        if max_tokens < 1 or extra_steps < 0:
            raise TooltuneError("--max-tokens must be at least 1 and --extra-steps at least 0")
        data_path = Path(data) if data else smoke_eval_path()
        items = load_items(data_path, status=status, limit=limit)
        from tooltune.llm import BACKENDS

        if backend not in BACKENDS:
            raise TooltuneError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
        specs = _model_specs(model, compare, base_url, api_key, tool_role, backend, adapter, weights)
        judge = None
        if judge_model or judge_base_url:
            from tooltune.eval.answers import AnswerJudge
            from tooltune.llm import make_llm

            judge = AnswerJudge(make_llm(judge_model, judge_base_url, api_key))
        constrain = enforced_constraint(constrain, model, compare, base_url, adapter, backend, weights)
        settings = EvalSettings(
            constrain=constrain, max_tokens=max_tokens, lam=lam, string_numbers=string_numbers, normalize_strings=normalize_strings,
            prompt_lang=prompt_lang, tool_role=tool_role, free_run=free_run, extra_steps=extra_steps, plan=plan,
        )
        report = run_eval(items, specs, fmt_list, settings, out, str(data_path), batch_size=batch_size, judge=judge, restart=restart)
        console = Console()
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
        console.print(f"report: {Path(out) / 'report.md'}")


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"
