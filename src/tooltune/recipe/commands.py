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
        steps: Annotated[int, typer.Option(help="Training steps (each of 2 micro-batches of --batch-size rows)")] = 1200,
        lr: Annotated[float, typer.Option(help="Learning rate of the final training")] = 1e-3,
        batch_size: Annotated[int, typer.Option(help="Rows per micro-batch")] = 2,
        eval_limit: Annotated[Optional[int], typer.Option(help="Evaluate only the first N held-out items")] = None,
        minutes: Annotated[Optional[float], typer.Option(help="Time budget of the train stage in this run; rerun to continue from its checkpoint")] = None,
        eval_formats: Annotated[str, typer.Option(help="Prompt formats the eval stage compares")] = "json,react",
        eval_weights: Annotated[str, typer.Option(help="Weights of both models in the eval stage: fp32 | int8 (results kept apart)")] = "fp32",
        no_glaive: Annotated[bool, typer.Option("--no-glaive", help="Skip the glaive demos from LLaMA-Factory's sdist")] = False,
        base_url: Annotated[Optional[str], typer.Option("--base-url", help="Teacher: an OpenAI-compatible server; its generate -> judge -> rollout rows replace the synthesis")] = None,
        model: Annotated[Optional[str], typer.Option("--model", help="Teacher: the model name served at --base-url")] = None,
        api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="OPENAI_API_KEY", help="Teacher: API key for --base-url (never recorded)")] = None,
        teacher_count: Annotated[int, typer.Option(help="Teacher: questions per language (en, zh), about 1 in 5 hard negatives")] = 500,
        teacher_format: Annotated[str, typer.Option(help="Teacher: prompt format of its rollouts (json | react | native)")] = "json",
        mix_synth: Annotated[bool, typer.Option("--mix-synth", help="Teacher: keep the synthesis too and add the teacher rows to it")] = False,
        review: Annotated[bool, typer.Option("--review", help="Write corpus/corpus.db for a human pass with `tooltune annotate`; training honours its rejections and edits")] = False,
    ) -> None:
        """Build a tool-calling model end to end: corpus, sweep, training, base-vs-tuned eval, export."""
        from tooltune.recipe.smollm2_tools import STAGES, RecipeConfig, run

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
        if n_synth < 1 or steps < 1 or batch_size < 1 or lr <= 0 or (minutes is not None and minutes <= 0):
            raise TooltuneError("--n-synth, --steps and --batch-size must be at least 1, --lr and --minutes positive")
        cfg = RecipeConfig(out=out, n_synth=n_synth, steps=steps, lr=lr, batch_size=batch_size, eval_limit=eval_limit,
                           glaive=not no_glaive, minutes=minutes, eval_formats=eval_formats, teacher_base_url=base_url,
                           teacher_model=model, teacher_api_key=api_key, teacher_count=teacher_count,
                           teacher_format=teacher_format, mix_synth=mix_synth, review=review, eval_weights=eval_weights)
        run(cfg, chosen)
