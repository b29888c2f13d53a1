"""CLI: `tooltune train`, `tooltune merge`, `tooltune sweep`, `tooltune inspect-sample`.

Every default is `TrainConfig`'s (or `DPOConfig`'s), and `train` builds its config from its
parameters by name (`TrainConfig.of`): a new training option is one parameter line here and one
field there."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from tooltune.cli_options import adapter_option, corpus_option, format_option, lang_option, model_option, out_option, training_option
from tooltune.errors import TooltuneError
from tooltune.lang import LANG_HELP
from tooltune.train.dpo_config import DPOConfig
from tooltune.train.config import TrainConfig

console = Console()
T = TrainConfig  # the defaults of every training option
D = DPOConfig

DataOpt = Annotated[str, corpus_option("corpus.db (approved samples) or a .jsonl of samples; 'demo' = the bundled demo corpus")]
ModelOpt = Annotated[Optional[str], model_option("HF model folder or .gguf file (default: embedded SmolLM2-135M)")]
FormatOpt = Annotated[str, format_option("react | json | native (must match what the agent will use)")]
LangOpt = Annotated[str, lang_option(f"Prompt language: auto (each sample's own, as eval does) | {LANG_HELP}")]
LossScaleOpt = Annotated[Optional[str], typer.Option(help="Per-span loss weights: react (Action/Action Input x2) | none")]


def _data_path(data: str) -> str:
    from tooltune.train.dataset import DEMO_CORPUS

    return str(DEMO_CORPUS) if data == "demo" else data


def _loss_scale(text: str | None) -> str | None:
    """`--loss-scale none` is the same as not giving it."""
    return None if text in (None, "none") else text


def train(
    data: DataOpt = "demo",
    model: ModelOpt = T.model,
    format: FormatOpt = T.format,
    lang: LangOpt = T.lang,
    lora: Annotated[bool, typer.Option("--lora", help="Train a LoRA adapter (default)")] = False,
    full: Annotated[bool, typer.Option("--full", help="Full fine-tuning of every weight")] = False,
    rank: Annotated[int, training_option("rank")] = T.rank,
    alpha: Annotated[int, typer.Option(help="LoRA alpha")] = T.alpha,
    targets: Annotated[str, typer.Option(help="LoRA target modules, comma-separated")] = T.targets,
    lr: Annotated[float, training_option("lr")] = T.lr,
    epochs: Annotated[float, typer.Option(help="Passes over the data (fractions allowed)")] = T.epochs,
    max_steps: Annotated[Optional[int], training_option("max_steps")] = T.max_steps,
    batch_size: Annotated[int, training_option("batch_size")] = T.batch_size,
    grad_accum: Annotated[int, training_option("grad_accum")] = T.grad_accum,
    max_length: Annotated[int, training_option("max_length")] = T.max_length,
    overlong: Annotated[str, typer.Option(help="Samples over --max-length: eval (held out whole, default) | drop-turns (drop trailing turns until it fits)")] = T.overlong,
    pack: Annotated[Optional[bool], typer.Option("--pack/--no-pack", help="Pack several samples per row (attention stays inside each sample); default: on a GPU yes, on CPU no (the mask costs more than the padding saved)")] = T.pack,
    tree: Annotated[Optional[bool], typer.Option("--tree/--no-tree", help="Tree rows: samples that share their system-and-tools prompt train as one row with the prompt computed once (exact); default on, except with flash-attention")] = T.tree,
    eval_split: Annotated[float, typer.Option(help="Share of samples held out for the eval loss")] = T.eval_split,
    eval_steps: Annotated[int, typer.Option(help="Evaluate every N steps (0: at the end)")] = T.eval_steps,
    save_steps: Annotated[int, training_option("save_steps")] = T.save_steps,
    scheduler: Annotated[str, training_option("scheduler")] = T.scheduler,
    warmup_ratio: Annotated[float, typer.Option(help="Share of steps spent warming up")] = T.warmup_ratio,
    loss_scale: LossScaleOpt = T.loss_scale,
    gradient_checkpointing: Annotated[bool, typer.Option("--gradient-checkpointing", help="Recompute activations to save memory")] = T.gradient_checkpointing,
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile the model (CUDA only)")] = T.compile,
    precision: Annotated[str, typer.Option(help="auto (bf16 autocast on a GPU with bf16, else fp32) | fp32 | bf16 (autocast, also on CPU: faster only where the CPU has AMX)")] = T.precision,
    init_adapter: Annotated[Optional[str], training_option("init_adapter")] = T.init_adapter,
    seed: Annotated[int, typer.Option(help="Random seed")] = T.seed,
    report_to: Annotated[str, typer.Option(help="auto | tensorboard | wandb | none (CSV is always written)")] = T.report_to,
    out: Annotated[str, out_option()] = T.out,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the latest checkpoint in --out")] = T.resume,
    dpo: Annotated[bool, typer.Option("--dpo", help="Preference training (DPO) on pairs: --data is a .jsonl from `export --format dpo` / `pairs mine`, or a corpus.db")] = False,
    ref: Annotated[Optional[str], typer.Option("--ref", help=f"DPO: the reference and starting point, an SFT adapter folder (trained further) or '{D.ref}' (a fresh LoRA)")] = None,
    beta: Annotated[float, typer.Option(help="DPO: strength of the pull towards the reference (larger = closer)")] = D.beta,
    nll_weight: Annotated[float, typer.Option(help="DPO: add this share of the chosen step's token NLL to the loss (RPO; 1.0 is its value, 0 = plain DPO); keeps the chosen step itself likely")] = D.nll_weight,
) -> None:
    """Supervised fine-tuning on agent dialogues (every assistant turn trained in one pass), or
    with --dpo preference training on pairs of assistant steps."""
    params = dict(locals())
    from tooltune.train.trainer import Trainer

    # Flag combinations only the command line can get wrong; the config's validate() checks the values.
    if lora and full:
        raise TooltuneError("choose one of --lora and --full")
    if not dpo and (ref is not None or beta != D.beta or nll_weight != D.nll_weight):
        raise TooltuneError("--ref, --beta and --nll-weight apply to preference training: add --dpo")
    if dpo:
        if data == "demo":
            raise TooltuneError("--dpo needs pairs: pass --data pairs.jsonl (from `tooltune export --format dpo` or `tooltune pairs mine`) or a corpus.db")
        # pairs are never packed nor trimmed: --pack and --overlong stay out of a DPO run
        _train_dpo(DPOConfig.of(params, lora=not full, loss_scale=_loss_scale(loss_scale), ref=ref or D.ref, overlong=D.overlong, pack=D.pack, tree=D.tree))
        return
    cfg = TrainConfig.of(params, data=_data_path(data), lora=not full, loss_scale=_loss_scale(loss_scale))
    with console.status(f"loading {model or 'the embedded SmolLM2-135M-Instruct'} and tokenizing…"):
        trainer = Trainer(cfg)
    c, w = trainer.corpus, trainer.total_steps()
    langs = ", ".join(f"{n} {lang}" for lang, n in sorted(c.langs.items()))
    console.print(f"{len(c.train)} train / {len(c.eval)} eval samples ({langs}); over --max-length {cfg.max_length}: "
                  f"{c.overlong} held out for eval, {c.trimmed} with trailing turns dropped; {c.skipped} without assistant turns; "
                  f"{len(trainer.rows)} rows{' (tree rows: shared prompts once)' if trainer.trees else ''}, {w} steps")
    result = trainer.run()
    waste = f"{result.pack.padding_waste:.1%}" if result.pack else "n/a"
    last = result.history[-1]["loss"] if result.history else float("nan")
    console.print(f"[bold green]done[/]: {result.steps} steps, last loss {last:.4f}, eval loss {result.eval_loss}, "
                  f"{result.tokens_per_s:.0f} real tokens/s, padding waste {waste} -> {result.out}")
    if cfg.lora:
        console.print(f"LoRA adapter saved; make a standalone model with: tooltune merge --adapter {result.out} --out {result.out}-merged")


def merge(
    adapter: Annotated[str, adapter_option("Folder of a LoRA run (tooltune train --out)")],
    out: Annotated[str, out_option("Where to write the merged HF model folder")],
    base: Annotated[Optional[str], typer.Option("--base", help="Base model (default: the one recorded at training)")] = None,
) -> None:
    """Merge a LoRA adapter into its base model: the result runs with `tooltune run --model OUT`."""
    from tooltune.train.model import merge_adapter

    with console.status("merging…"):
        path = merge_adapter(adapter, out, base)
    console.print(f"[bold green]merged[/] -> {path}  (try: tooltune run --model {path} \"What is 23*47?\")")


def sweep(
    lrs: Annotated[str, typer.Option("--lrs", help="Comma-separated learning rates, e.g. 1e-5,5e-5,1e-4")],
    data: DataOpt = "demo",
    model: ModelOpt = T.model,
    format: FormatOpt = T.format,
    lang: LangOpt = T.lang,
    full: Annotated[bool, typer.Option("--full", help="Full fine-tuning instead of LoRA")] = False,
    max_steps: Annotated[int, training_option("max_steps", "Optimizer steps per run")] = 20,  # a sweep run is short: not TrainConfig's "whole epoch"
    batch_size: Annotated[int, training_option("batch_size")] = T.batch_size,
    max_length: Annotated[int, training_option("max_length", "Tokens per row")] = T.max_length,
    loss_scales: Annotated[str, typer.Option(help="Also compare loss scales, e.g. 'none,react'")] = "none",
    eval_split: Annotated[float, typer.Option(help="Share of samples held out for the eval loss")] = T.eval_split,
    out: Annotated[str, out_option("Output folder for runs, sweep.png and sweep.csv")] = "runs/sweep",
) -> None:
    """Short trainings per learning rate -> one PNG of loss and grad-norm curves plus a CSV."""
    params = dict(locals())
    from tooltune.train.sweep import parse_lrs, run_sweep

    scales = [_loss_scale(s.strip() or None) for s in loss_scales.split(",")]
    base = TrainConfig.of(params, data=_data_path(data), lora=not full)
    png, csv_path, results = run_sweep(base, parse_lrs(lrs), scales)
    for label, res in results.items():
        console.print(f"{label}: final loss {res.history[-1]['loss']:.4f}, eval loss {res.eval_loss}")
    console.print(f"[bold green]plot[/] {png}  [bold green]csv[/] {csv_path}")


def inspect_sample(
    data: DataOpt = "demo",
    index: Annotated[int, typer.Option("--index", help="Which sample (0-based)")] = 0,
    model: ModelOpt = T.model,
    format: FormatOpt = T.format,
    lang: LangOpt = T.lang,
    loss_scale: Annotated[Optional[str], typer.Option(help="Show per-span loss weights: react | none")] = T.loss_scale,
    tree: Annotated[bool, typer.Option("--tree", help="Show the tree row that trains this sample: the prompt it shares with "
                                       "other samples once, then every branch (training groups samples that way by default)")] = False,
    max_length: Annotated[int, training_option("max_length", "With --tree: the row length the grouping fills")] = T.max_length,
) -> None:
    """Print one training sample with the learned tokens highlighted (green; magenta = weight > 1)."""
    from tooltune.formats import get_format
    from tooltune.formats.chat import ChatRenderer
    from tooltune.lang import dialogue_lang
    from tooltune.train.dataset import build_example, check_corpus_options, load_samples
    from tooltune.train.inspect import highlight, summary

    scale = _loss_scale(loss_scale)
    check_corpus_options(lang=lang, loss_scale=scale)
    samples = load_samples(_data_path(data))
    if not 0 <= index < len(samples):
        raise TooltuneError(f"--index {index} is out of range: the data has {len(samples)} samples")
    tokenizer = _tokenizer(model)
    if tree:
        _inspect_tree(samples, index, tokenizer, format, lang, scale, max_length)
        return
    sample = samples[index]
    example = build_example(sample, get_format(format, dialogue_lang(sample.messages) if lang == "auto" else lang), ChatRenderer(tokenizer), scale, source=index)
    console.print(highlight(example, tokenizer), highlight=False)
    console.print(f"\n[bold]{summary(example)}[/]  (dim = context, not learned)")


def _inspect_tree(samples: list, index: int, tokenizer: Any, fmt: str, lang: str, scale: str | None, max_length: int) -> None:
    """inspect-sample --tree: the grouping `tooltune train` does (train/tree.py), around one sample."""
    from tooltune.formats import get_format
    from tooltune.formats.chat import ChatRenderer
    from tooltune.lang import dialogue_lang
    from tooltune.train.dataset import build_example
    from tooltune.train.inspect import highlight, summary, tree_view
    from tooltune.train.tree import tree_rows

    renderer, examples = ChatRenderer(tokenizer), []
    for i, s in enumerate(samples):
        ex = build_example(s, get_format(fmt, dialogue_lang(s.messages) if lang == "auto" else lang), renderer, scale, source=i)
        if len(ex) <= max_length:
            examples.append(ex)
    shown = tree_view(tree_rows(examples, max_length), index, tokenizer)
    if shown is None:
        ex = next((e for e in examples if e.source == index), None)
        if ex is None:
            raise TooltuneError(f"sample {index} is longer than --max-length {max_length}: raise it to see its row")
        console.print(highlight(ex, tokenizer), highlight=False)
        console.print(f"\n[bold]{summary(ex)}[/]: a plain row (no other sample within --max-length {max_length} shares its prompt)")
        return
    text, line = shown
    console.print(text, highlight=False)
    console.print(f"\n[bold]{line}[/]  (dim = context, not learned)")


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(merge)
    app.command()(sweep)
    app.command("inspect-sample")(inspect_sample)


def _train_dpo(cfg: DPOConfig) -> None:
    from tooltune.train.dpo import dpo_trainer

    with console.status(f"loading the model, tokenizing the pairs and scoring them under the reference ({cfg.ref})…"):
        trainer = dpo_trainer(cfg)
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
    from tooltune.llm.loading import load_tokenizer

    return load_tokenizer(model)
