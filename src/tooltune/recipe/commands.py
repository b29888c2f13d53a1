"""`tooltune recipe NAME --out DIR`: rerun a shipped recipe, stage by stage, resumably."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from tooltune.errors import TooltuneError

RECIPES = ("smollm2-tools",)


def register(app: typer.Typer) -> None:
    @app.command()
    def recipe(
        name: Annotated[str, typer.Argument(help="Recipe name: smollm2-tools")],
        out: Annotated[str, typer.Option("--out", help="Output folder; a rerun skips finished stages and resumes training")] = "runs/smollm2-tools",
        stages: Annotated[Optional[str], typer.Option(help="Comma-separated stages to run (default: all): sources,corpus,sweep,train,eval,export")] = None,
        n_synth: Annotated[int, typer.Option(help="Synthetic training samples")] = 4000,
        steps: Annotated[int, typer.Option(help="Training steps (each of --grad-accum micro-batches of --batch-size rows)")] = 1200,
        lr: Annotated[str, typer.Option(help="Learning rate of the final training, or 'sweep' for the one the sweep stage picked")] = "1e-3",
        scheduler: Annotated[str, typer.Option(help="constant (stops on --minutes and grows run by run) | cosine | linear (need the whole --steps)")] = "constant",
        batch_size: Annotated[int, typer.Option(help="Rows per micro-batch (packed rows of --max-length tokens on a GPU)")] = 2,
        grad_accum: Annotated[int, typer.Option(help="Micro-batches per optimizer step")] = 2,
        max_length: Annotated[int, typer.Option(help="Longest sample in tokens; longer ones are left out whole")] = 1024,
        rank: Annotated[int, typer.Option(help="LoRA rank (alpha = 2 x rank)")] = 16,
        sweep_lrs: Annotated[str, typer.Option(help="Learning rates the sweep stage tries, comma-separated")] = "3e-4,1e-3,2e-3",
        sweep_steps: Annotated[int, typer.Option(help="Steps of each sweep run")] = 5,
        save_steps: Annotated[int, typer.Option(help="Checkpoint every N training steps (the last two are kept)")] = 10,
        device: Annotated[str, typer.Option(help="Where the eval stage runs both models: auto (a GPU when torch sees one) | cpu | cuda")] = "auto",
        eval_limit: Annotated[Optional[int], typer.Option(help="Evaluate only the first N held-out items")] = None,
        minutes: Annotated[Optional[float], typer.Option(help="Time budget of the train stage in this run; rerun to continue from its checkpoint")] = None,
        eval_formats: Annotated[str, typer.Option(help="Prompt formats the eval stage compares")] = "json,react",
        eval_weights: Annotated[str, typer.Option(help="Weights of both models in the eval stage: fp32 | int8 (results kept apart)")] = "fp32",
        bench_limit: Annotated[int, typer.Option(help="BFCL items per category in the eval stage, base vs tuned (0: skip; needs bfcl-eval)")] = 100,
        no_glaive: Annotated[bool, typer.Option("--no-glaive", help="Skip the glaive demos from LLaMA-Factory's sdist")] = False,
        base_url: Annotated[Optional[str], typer.Option("--base-url", help="Teacher: an OpenAI-compatible server; its generate -> judge -> rollout rows replace the synthesis")] = None,
        model: Annotated[Optional[str], typer.Option("--model", help="Teacher: the model name served at --base-url")] = None,
        api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="OPENAI_API_KEY", help="Teacher: API key for --base-url (never recorded)")] = None,
        teacher_count: Annotated[int, typer.Option(help="Teacher: questions per language (en, zh), about 1 in 5 hard negatives")] = 500,
        teacher_format: Annotated[str, typer.Option(help="Teacher: prompt format of its rollouts (json | react | native)")] = "json",
        text_results: Annotated[float, typer.Option(help="Share of synthetic samples whose tool results are plain text, not JSON (0-1)")] = 0.0,
        mix_synth: Annotated[bool, typer.Option("--mix-synth", help="Teacher: keep the synthesis too and add the teacher rows to it")] = False,
        corpus_version: Annotated[int, typer.Option(help="2: v2's bank dialogues only | 3: v3 samples (real-API schemas, stdlib functions, enumerations, knowledge) plus --replay of v2's")] = 3,
        replay: Annotated[float, typer.Option(help="Share of v2 samples in a v3 corpus (0-1)")] = 0.3,
        init_adapter: Annotated[Optional[str], typer.Option(help="Continue this LoRA adapter instead of a fresh one: a folder, or 'shipped' for the packaged v2 adapter")] = None,
        review: Annotated[bool, typer.Option("--review", help="Write corpus/corpus.db for a human pass with `tooltune annotate`; training honours its rejections and edits")] = False,
    ) -> None:
        """Build a tool-calling model end to end: corpus, sweep, training, base-vs-tuned eval, export."""
        from tooltune.recipe.smollm2_tools import run
        from tooltune.recipe.state import STAGES, RecipeConfig

        if name not in RECIPES:
            raise TooltuneError(f"unknown recipe {name!r}: use one of {', '.join(RECIPES)}")
        chosen = [s.strip() for s in stages.split(",")] if stages else None
        from tooltune.formats import FORMATS

        for f in eval_formats.split(","):
            if f.strip() not in FORMATS:
                raise TooltuneError(f"--eval-formats: unknown format {f.strip()!r}; use {', '.join(FORMATS)}")
        for s in chosen or []:
            if s not in STAGES:
                raise TooltuneError(f"unknown stage {s!r}: use one of {', '.join(STAGES)}")
        if base_url is None and (model or mix_synth):
            raise TooltuneError("--model and --mix-synth are for a teacher: pass its server as --base-url too")
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise TooltuneError(f"--base-url {base_url!r} is not an http(s) URL: pass e.g. http://localhost:8000/v1")
        if teacher_count < 1 or teacher_format not in FORMATS:
            raise TooltuneError(f"--teacher-count must be at least 1 and --teacher-format one of {', '.join(FORMATS)}")
        from tooltune.llm.int8 import check_weights

        check_weights(eval_weights, "--eval-weights")
        rate = None if lr == "sweep" else float(_learning_rates(lr, "--lr"))
        if bench_limit < 0:
            raise TooltuneError(f"--bench-limit {bench_limit}: give 0 (skip BFCL) or a number of items per category")
        if min(n_synth, steps, batch_size, grad_accum, max_length, rank, sweep_steps, save_steps) < 1 or (minutes is not None and minutes <= 0):
            raise TooltuneError("--n-synth, --steps, --batch-size, --grad-accum, --max-length, --rank, --sweep-steps and --save-steps must be at least 1, --lr and --minutes positive")
        sweep = _learning_rates(sweep_lrs)
        from tooltune.llm.transformers_backend import check_device
        from tooltune.train.trainer import check_scheduler

        if not 0.0 <= text_results <= 1.0:
            raise TooltuneError(f"--text-results {text_results:g}: give a share between 0 and 1, e.g. 0.2")
        check_scheduler(scheduler)
        check_device(device)
        if corpus_version not in (2, 3) or not 0.0 <= replay <= 1.0:
            raise TooltuneError(f"--corpus-version {corpus_version} / --replay {replay:g}: give version 2 or 3 and a replay share between 0 and 1")
        cfg = RecipeConfig(out=out, n_synth=n_synth, steps=steps, lr=rate or 1e-3, lr_from_sweep=rate is None, batch_size=batch_size, eval_limit=eval_limit,
                           glaive=not no_glaive, minutes=minutes, eval_formats=eval_formats, teacher_base_url=base_url,
                           teacher_model=model, teacher_api_key=api_key, teacher_count=teacher_count,
                           teacher_format=teacher_format, mix_synth=mix_synth, review=review, eval_weights=eval_weights,
                           scheduler=scheduler, grad_accum=grad_accum, max_length=max_length, rank=rank, alpha=2 * rank,
                           sweep_lrs=sweep, sweep_steps=sweep_steps, save_steps=save_steps, device=device, text_results=text_results,
                           bench_limit=bench_limit, corpus_version=corpus_version, replay=replay, init_adapter=init_adapter)
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
