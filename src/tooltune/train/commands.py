"""CLI: `tooltune train`, `tooltune merge`, `tooltune sweep`, `tooltune inspect-sample`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console

from tooltune.cli_options import corpus_option
from tooltune.errors import TooltuneError

if TYPE_CHECKING:
    from tooltune.train.dpo import DPOConfig

console = Console()

DataOpt = Annotated[str, corpus_option("corpus.db (approved samples) or a .jsonl of samples; 'demo' = the bundled demo corpus")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="HF model folder or .gguf file (default: embedded SmolLM2-135M)")]
FormatOpt = Annotated[str, typer.Option("--format", help="react | json | native (must match what the agent will use)")]
LangOpt = Annotated[str, typer.Option("--lang", help="Prompt language: auto (each sample's own, as eval does) | en | zh")]


def _data_path(data: str) -> str:
    from tooltune.train.dataset import DEMO_CORPUS

    return str(DEMO_CORPUS) if data == "demo" else data


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        data: DataOpt = "demo",
        model: ModelOpt = None,
        format: FormatOpt = "react",
        lang: LangOpt = "auto",
        lora: Annotated[bool, typer.Option("--lora", help="Train a LoRA adapter (default)")] = False,
        full: Annotated[bool, typer.Option("--full", help="Full fine-tuning of every weight")] = False,
        rank: Annotated[int, typer.Option(help="LoRA rank")] = 8,
        alpha: Annotated[int, typer.Option(help="LoRA alpha")] = 16,
        targets: Annotated[str, typer.Option(help="LoRA target modules, comma-separated")] = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
        lr: Annotated[float, typer.Option(help="Peak learning rate")] = 1e-4,
        epochs: Annotated[float, typer.Option(help="Passes over the data (fractions allowed)")] = 1.0,
        max_steps: Annotated[Optional[int], typer.Option(help="Stop after this many optimizer steps (overrides --epochs)")] = None,
        batch_size: Annotated[int, typer.Option(help="Rows per micro-batch")] = 4,
        grad_accum: Annotated[int, typer.Option(help="Micro-batches per optimizer step")] = 1,
        max_length: Annotated[int, typer.Option(help="Tokens per sample; longer samples are never truncated (see --overlong)")] = 1024,
        overlong: Annotated[str, typer.Option(help="Samples over --max-length: eval (held out whole, default) | drop-turns (drop trailing turns until it fits)")] = "eval",
        pack: Annotated[Optional[bool], typer.Option("--pack/--no-pack", help="Pack several samples per row (attention stays inside each sample); default: on a GPU yes, on CPU no (the mask costs more than the padding saved)")] = None,
        eval_split: Annotated[float, typer.Option(help="Share of samples held out for the eval loss")] = 0.1,
        eval_steps: Annotated[int, typer.Option(help="Evaluate every N steps (0: at the end)")] = 0,
        save_steps: Annotated[int, typer.Option(help="Checkpoint every N steps (0: at the end)")] = 0,
        scheduler: Annotated[str, typer.Option(help="cosine | linear | constant (all with warm-up)")] = "cosine",
        warmup_ratio: Annotated[float, typer.Option(help="Share of steps spent warming up")] = 0.1,
        loss_scale: Annotated[Optional[str], typer.Option(help="Per-span loss weights: react (Action/Action Input x2) | none")] = None,
        gradient_checkpointing: Annotated[bool, typer.Option("--gradient-checkpointing", help="Recompute activations to save memory")] = False,
        compile: Annotated[bool, typer.Option("--compile", help="torch.compile the model (CUDA only)")] = False,
        precision: Annotated[str, typer.Option(help="auto (bf16 autocast on a GPU with bf16, else fp32) | fp32 | bf16 (autocast, also on CPU: faster only where the CPU has AMX)")] = "auto",
        seed: Annotated[int, typer.Option(help="Random seed")] = 0,
        report_to: Annotated[str, typer.Option(help="auto | tensorboard | wandb | none (CSV is always written)")] = "auto",
        out: Annotated[str, typer.Option("--out", help="Output folder")] = "runs/train",
        resume: Annotated[bool, typer.Option("--resume", help="Continue from the latest checkpoint in --out")] = False,
        dpo: Annotated[bool, typer.Option("--dpo", help="Preference training (DPO) on pairs: --data is a .jsonl from `export --format dpo` / `pairs mine`, or a corpus.db")] = False,
        ref: Annotated[Optional[str], typer.Option("--ref", help="DPO: the reference and starting point, an SFT adapter folder (trained further) or 'base' (a fresh LoRA)")] = None,
        beta: Annotated[float, typer.Option(help="DPO: strength of the pull towards the reference (larger = closer)")] = 0.1,
    ) -> None:
        """Supervised fine-tuning on agent dialogues (every assistant turn trained in one pass), or
        with --dpo preference training on pairs of assistant steps."""
        from tooltune.train.trainer import TrainConfig, Trainer

        if lora and full:
            raise TooltuneError("choose one of --lora and --full")
        if not dpo and (ref is not None or beta != 0.1):
            raise TooltuneError("--ref and --beta apply to preference training: add --dpo")
        if dpo:
            if data == "demo":
                raise TooltuneError("--dpo needs pairs: pass --data pairs.jsonl (from `tooltune export --format dpo` or `tooltune pairs mine`) or a corpus.db")
            from tooltune.train.dpo import DPOConfig

            dcfg = DPOConfig(data=data, model=model, format=format, lang=lang, lora=not full, rank=rank, alpha=alpha, targets=targets, lr=lr,
                             epochs=epochs, max_steps=max_steps, batch_size=batch_size, grad_accum=grad_accum, max_length=max_length,
                             eval_split=eval_split, eval_steps=eval_steps, save_steps=save_steps, scheduler=scheduler, warmup_ratio=warmup_ratio,
                             loss_scale=None if loss_scale in (None, "none") else loss_scale, gradient_checkpointing=gradient_checkpointing,
                             compile=compile, precision=precision, seed=seed, report_to=report_to, out=out, resume=resume, ref=ref or "base", beta=beta)
            _train_dpo(dcfg)
            return
        cfg = TrainConfig(data=_data_path(data), model=model, format=format, lang=lang, lora=not full,
                      rank=rank, alpha=alpha, targets=targets, lr=lr, epochs=epochs, max_steps=max_steps, batch_size=batch_size,
                      grad_accum=grad_accum, max_length=max_length, overlong=overlong, pack=pack, eval_split=eval_split, eval_steps=eval_steps,
                      save_steps=save_steps, scheduler=scheduler, warmup_ratio=warmup_ratio, loss_scale=None if loss_scale in (None, "none") else loss_scale,
                      gradient_checkpointing=gradient_checkpointing, compile=compile, precision=precision, seed=seed, report_to=report_to,
                      out=out, resume=resume)
        with console.status(f"loading {model or 'the embedded SmolLM2-135M-Instruct'} and tokenizing…"):
            trainer = Trainer(cfg)
        c, w = trainer.corpus, trainer.total_steps()
        langs = ", ".join(f"{n} {lang}" for lang, n in sorted(c.langs.items()))
        console.print(f"{len(c.train)} train / {len(c.eval)} eval samples ({langs}); over --max-length {cfg.max_length}: "
                      f"{c.overlong} held out for eval, {c.trimmed} with trailing turns dropped; {c.skipped} without assistant turns; "
                      f"{len(trainer.rows)} rows, {w} steps")
        result = trainer.run()
        waste = f"{result.pack.padding_waste:.1%}" if result.pack else "n/a"
        last = result.history[-1]["loss"] if result.history else float("nan")
        console.print(f"[bold green]done[/]: {result.steps} steps, last loss {last:.4f}, eval loss {result.eval_loss}, "
                      f"{result.tokens_per_s:.0f} real tokens/s, padding waste {waste} -> {result.out}")
        if cfg.lora:
            console.print(f"LoRA adapter saved; make a standalone model with: tooltune merge --adapter {result.out} --out {result.out}-merged")

    @app.command()
    def merge(
        adapter: Annotated[str, typer.Option("--adapter", help="Folder of a LoRA run (tooltune train --out)")],
        out: Annotated[str, typer.Option("--out", help="Where to write the merged HF model folder")],
        base: Annotated[Optional[str], typer.Option("--base", help="Base model (default: the one recorded at training)")] = None,
    ) -> None:
        """Merge a LoRA adapter into its base model: the result runs with `tooltune run --model OUT`."""
        from tooltune.train.model import merge_adapter

        with console.status("merging…"):
            path = merge_adapter(adapter, out, base)
        console.print(f"[bold green]merged[/] -> {path}  (try: tooltune run --model {path} \"What is 23*47?\")")

    @app.command()
    def sweep(
        lrs: Annotated[str, typer.Option("--lrs", help="Comma-separated learning rates, e.g. 1e-5,5e-5,1e-4")],
        data: DataOpt = "demo",
        model: ModelOpt = None,
        format: FormatOpt = "react",
        lang: LangOpt = "auto",
        full: Annotated[bool, typer.Option("--full", help="Full fine-tuning instead of LoRA")] = False,
        max_steps: Annotated[int, typer.Option(help="Optimizer steps per run")] = 20,
        batch_size: Annotated[int, typer.Option(help="Rows per micro-batch")] = 4,
        max_length: Annotated[int, typer.Option(help="Tokens per row")] = 1024,
        loss_scales: Annotated[str, typer.Option(help="Also compare loss scales, e.g. 'none,react'")] = "none",
        eval_split: Annotated[float, typer.Option(help="Share of samples held out for the eval loss")] = 0.1,
        out: Annotated[str, typer.Option("--out", help="Output folder for runs, sweep.png and sweep.csv")] = "runs/sweep",
    ) -> None:
        """Short trainings per learning rate -> one PNG of loss and grad-norm curves plus a CSV."""
        from tooltune.train.sweep import parse_lrs, run_sweep
        from tooltune.train.trainer import TrainConfig

        scales = [None if s.strip() in ("", "none") else s.strip() for s in loss_scales.split(",")]
        base = TrainConfig(data=_data_path(data), model=model, format=format, lang=lang, lora=not full, max_steps=max_steps,
                           batch_size=batch_size, max_length=max_length, eval_split=eval_split, out=out)
        png, csv_path, results = run_sweep(base, parse_lrs(lrs), scales)
        for label, res in results.items():
            console.print(f"{label}: final loss {res.history[-1]['loss']:.4f}, eval loss {res.eval_loss}")
        console.print(f"[bold green]plot[/] {png}  [bold green]csv[/] {csv_path}")

    @app.command("inspect-sample")
    def inspect_sample(
        data: DataOpt = "demo",
        index: Annotated[int, typer.Option("--index", help="Which sample (0-based)")] = 0,
        model: ModelOpt = None,
        format: FormatOpt = "react",
        lang: LangOpt = "auto",
        loss_scale: Annotated[Optional[str], typer.Option(help="Show per-span loss weights: react | none")] = None,
    ) -> None:
        """Print one training sample with the learned tokens highlighted (green; magenta = weight > 1)."""
        from tooltune.formats import get_format
        from tooltune.formats.chat import ChatRenderer
        from tooltune.train.dataset import build_example, load_samples
        from tooltune.train.inspect import highlight, summary

        samples = load_samples(_data_path(data))
        if not 0 <= index < len(samples):
            raise TooltuneError(f"--index {index} is out of range: the data has {len(samples)} samples")
        tokenizer = _tokenizer(model)
        scale = None if loss_scale in (None, "none") else loss_scale
        from tooltune.lang import dialogue_lang

        sample = samples[index]
        example = build_example(sample, get_format(format, dialogue_lang(sample.messages) if lang == "auto" else lang), ChatRenderer(tokenizer), scale, source=index)
        console.print(highlight(example, tokenizer), highlight=False)
        console.print(f"\n[bold]{summary(example)}[/]  (dim = context, not learned)")


def _train_dpo(cfg: DPOConfig) -> None:
    from tooltune.train.dpo import DPOTrainer

    with console.status(f"loading the model, tokenizing the pairs and scoring them under the reference ({cfg.ref})…"):
        trainer = DPOTrainer(cfg)
    c = trainer.corpus
    console.print(f"{c.pairs} pairs -> {len(c.train)} train / {len(c.eval)} eval (x formats {cfg.format}); dropped: {c.identical} with chosen == rejected, "
                  f"{c.overlong} over --max-length; reference: {cfg.ref}; {trainer.total_steps()} steps")
    result = trainer.run()
    last = result.history[-1] if result.history else {}
    console.print(f"[bold green]done[/]: {result.steps} steps, last loss {last.get('loss', float('nan')):.4f}, reward margin "
                  f"{last.get('reward_margin', float('nan')):.4f}, accuracy {last.get('reward_accuracy', float('nan')):.2f}, "
                  f"eval loss {result.eval_loss} -> {result.out}")


def _tokenizer(model: Optional[str]) -> object:
    """Only the tokenizer (seconds), not the weights."""
    from tooltune.llm.transformers_backend import load_tokenizer

    return load_tokenizer(model)
