"""`tooltune recipe NAME --out DIR`: rerun a shipped recipe, stage by stage, resumably.

Every default is `RecipeConfig`'s and every value check is `RecipeConfig.validate()`; the command
only parses what the command line spells differently (`--lr sweep`, `--no-glaive`, the teacher's
`--base-url/--model/--api-key`, alpha = 2 x rank)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from tooltune.cli_options import api_key_option, base_url_option, config_from, model_option, out_option, training_option
from tooltune.errors import TooltuneError
from tooltune.recipe.state import OPTIONAL_STAGES, RECIPE, STAGES, RecipeConfig

RECIPES = (RECIPE,)
R = RecipeConfig  # the defaults of every recipe option


def recipe(
    name: Annotated[str, typer.Argument(help=f"Recipe name: {', '.join(RECIPES)}")],
    out: Annotated[str, out_option("Output folder; a rerun skips finished stages and resumes training")] = R.out,
    stages: Annotated[Optional[str], typer.Option(help=f"Comma-separated stages to run (default: all): {','.join(s for s in STAGES if s not in OPTIONAL_STAGES)}")] = None,
    n_synth: Annotated[int, typer.Option(help="Synthetic training samples")] = R.n_synth,
    steps: Annotated[int, typer.Option(help="Training steps (each of --grad-accum micro-batches of --batch-size rows)")] = R.steps,
    # a text, not RecipeConfig.lr's float: it may also be 'sweep' (tests pin float("1e-3") == RecipeConfig.lr)
    lr: Annotated[str, training_option("lr", "Learning rate of the final training, or 'sweep' for the one the sweep stage picked")] = "1e-3",
    scheduler: Annotated[str, training_option("scheduler", "constant (stops on --minutes and grows run by run) | cosine | linear (need the whole --steps)")] = R.scheduler,
    batch_size: Annotated[int, training_option("batch_size", "Rows per micro-batch (packed rows of --max-length tokens on a GPU)")] = R.batch_size,
    grad_accum: Annotated[int, training_option("grad_accum")] = R.grad_accum,
    max_length: Annotated[int, training_option("max_length", "Longest sample in tokens; longer ones are left out whole")] = R.max_length,
    rank: Annotated[int, training_option("rank", "LoRA rank (alpha = 2 x rank)")] = R.rank,
    sweep_lrs: Annotated[str, typer.Option(help="Learning rates the sweep stage tries, comma-separated")] = R.sweep_lrs,
    sweep_steps: Annotated[int, typer.Option(help="Steps of each sweep run")] = R.sweep_steps,
    save_steps: Annotated[int, training_option("save_steps", "Checkpoint every N training steps (the last two are kept)")] = R.save_steps,
    device: Annotated[str, typer.Option(help="Where the eval stage runs both models: auto (a GPU when torch sees one) | cpu | cuda")] = R.device,
    eval_limit: Annotated[Optional[int], typer.Option(help="Evaluate only the first N held-out items")] = R.eval_limit,
    minutes: Annotated[Optional[float], typer.Option(help="Time budget of the train stage in this run; rerun to continue from its checkpoint")] = R.minutes,
    eval_formats: Annotated[str, typer.Option(help="Prompt formats the eval stage compares")] = R.eval_formats,
    eval_weights: Annotated[str, typer.Option(help="Weights of both models in the eval stage: fp32 | int8 (results kept apart)")] = R.eval_weights,
    bench_limit: Annotated[int, typer.Option(help="BFCL items per category in the eval stage, base vs tuned (0: skip; needs bfcl-eval)")] = R.bench_limit,
    no_glaive: Annotated[bool, typer.Option("--no-glaive", help="Skip the glaive demos from LLaMA-Factory's sdist")] = not R.glaive,
    base_url: Annotated[Optional[str], base_url_option("Teacher: an OpenAI-compatible server; its generate -> judge -> rollout rows replace the synthesis")] = R.teacher_base_url,
    model: Annotated[Optional[str], model_option("Teacher: the model name served at --base-url")] = R.teacher_model,
    api_key: Annotated[Optional[str], api_key_option("Teacher: API key for --base-url (never recorded)")] = R.teacher_api_key,
    teacher_count: Annotated[int, typer.Option(help="Teacher: questions per language (en, zh), about 1 in 5 hard negatives")] = R.teacher_count,
    teacher_format: Annotated[str, typer.Option(help="Teacher: prompt format of its rollouts (json | react | native)")] = R.teacher_format,
    text_results: Annotated[float, typer.Option(help="Share of synthetic samples whose tool results are plain text, not JSON (0-1)")] = R.text_results,
    mix_synth: Annotated[bool, typer.Option("--mix-synth", help="Teacher: keep the synthesis too and add the teacher rows to it")] = R.mix_synth,
    corpus_version: Annotated[int, typer.Option(help="2: v2's bank dialogues only | 3: v3 samples (real-API schemas, stdlib functions, enumerations, knowledge) plus --replay of v2's")] = R.corpus_version,
    replay: Annotated[float, typer.Option(help="Share of v2 samples in a v3 corpus (0-1)")] = R.replay,
    init_adapter: Annotated[Optional[str], training_option("init_adapter", "Continue this LoRA adapter instead of a fresh one: a folder, 'v2' for the packaged v2 SFT adapter or 'shipped' for the packaged default")] = R.init_adapter,
    prefer_from: Annotated[str, typer.Option(help="prefer stage: the SFT adapter to mine and preference-train — 'train' (this recipe's), 'v2', 'shipped' or a folder")] = R.prefer_from,
    prefer_draws: Annotated[str, typer.Option(help="prefer stage: stratified draws of v3 rows to mine, SEED:kind=N,... separated by ';'")] = R.prefer_draws,
    prefer_caps: Annotated[str, typer.Option(help="prefer stage: mined pairs kept per mistake kind, kind=N,... (the rest: all)")] = R.prefer_caps,
    prefer_epochs: Annotated[float, typer.Option(help="prefer stage: passes of DPO over the mixed pairs")] = R.prefer_epochs,
    review: Annotated[bool, typer.Option("--review", help="Write corpus/corpus.db for a human pass with `tooltune annotate`; training honours its rejections and edits")] = R.review,
) -> None:
    """Build a tool-calling model end to end: corpus, sweep, training, base-vs-tuned eval, export."""
    params = dict(locals())
    from tooltune.recipe.smollm2_tools import run

    if name not in RECIPES:
        raise TooltuneError(f"unknown recipe {name!r}: use one of {', '.join(RECIPES)}")
    chosen = [s.strip() for s in stages.split(",")] if stages else None
    for s in chosen or []:
        if s not in STAGES:
            raise TooltuneError(f"unknown stage {s!r}: use one of {', '.join(STAGES)}")
    rate = None if lr == "sweep" else float(_learning_rates(lr, "--lr"))
    cfg = config_from(RecipeConfig, params, lr=rate or R.lr, lr_from_sweep=rate is None, glaive=not no_glaive, teacher_base_url=base_url,
                      teacher_model=model, teacher_api_key=api_key, alpha=2 * rank, sweep_lrs=_learning_rates(sweep_lrs))
    cfg.validate()
    run(cfg, chosen)


def _learning_rates(text: str, option: str = "--sweep-lrs") -> str:
    """A learning rate or a comma-separated list of them, checked positive."""
    try:
        rates = [float(x) for x in text.split(",")]
    except ValueError:
        rates = []
    if not rates or min(rates) <= 0 or (option == "--lr" and len(rates) > 1):
        raise TooltuneError(f"{option} {text!r}: " + ("give positive learning rates separated by commas, e.g. 3e-4,1e-3,2e-3" if option == "--sweep-lrs" else "give one positive learning rate, e.g. 1e-3, or 'sweep'"))
    return ",".join(f"{r:g}" for r in rates)


def register(app: typer.Typer) -> None:
    app.command()(recipe)
