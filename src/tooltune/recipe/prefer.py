"""The recipe's optional `prefer` stage (run it by naming it: `--stages prefer` after `train`):
preference training on the SFT adapter's own mistakes.

  1. mine   the SFT adapter runs teacher-forced over a slice of the *training* corpus
            (corpus/train.jsonl; items offering a held-out tool are refused by `mine_pairs`) in
            every format of the training mix; each wrong step becomes a pair (data/mine.py)
  2. dpo    `DPOTrainer` with the SFT adapter as reference and starting point (train/dpo.py)
  3. eval   SFT vs SFT+DPO on the held-out items (first `eval_limit`), the eval stage's settings
  4. ship   only if SFT+DPO scores higher (the eval's step score, EM + λ·fuzzy, summed over the
            formats): then `export` ships prefer/dpo instead of train/ (`shipped_adapter`)

Note the held-out set decides the pick here, as it measures the eval stage: one binary choice
between two adapters, recorded with both scores in prefer/done.json.
Each part keeps its output (pairs.jsonl, dpo/ checkpoints, eval runs), so a rerun continues.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tooltune.errors import TooltuneError
from tooltune.llm.embedded import is_adapter_dir
from tooltune.messages import read_jsonl, write_jsonl_atomic
from tooltune.recipe.mixed_corpus import format_mix
from tooltune.recipe.heldout import heldout_items
from tooltune.recipe.state import RecipeConfig, is_done, read_done, stage_dir


def shipped_adapter(cfg: RecipeConfig) -> Path:
    """The adapter `export` ships: prefer/dpo when the prefer stage found it better, else train/."""
    if is_done(cfg, "prefer") and read_done(cfg, "prefer").get("ship"):
        return Path(read_done(cfg, "prefer")["adapter"])
    return stage_dir(cfg, "train")


def _mine_items(cfg: RecipeConfig, path: Path) -> Path:
    """The first `prefer_items` training rows with a reference step, as eval items (written once)."""
    if not path.exists():
        rows = []
        for i, (_, row) in enumerate(read_jsonl(stage_dir(cfg, "corpus") / "train.jsonl")):
            if len(rows) >= cfg.prefer_items:
                break
            if any(m.get("role") == "assistant" for m in row["messages"]) and row["messages"][0].get("role") != "assistant":
                rows.append({"id": f"train{i}", "messages": row["messages"], "tools": row["tools"], **({"lang": row["lang"]} if row.get("lang") else {})})
        write_jsonl_atomic(path, rows)
    return path


def _mine(cfg: RecipeConfig, base: str | None, adapter: Path, device: str, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.data.mine import mine_pairs
    from tooltune.data.synth.bank import load_bank, split_bank
    from tooltune.eval.items import load_items
    from tooltune.llm import make_llm
    from tooltune.messages import write_text_atomic

    d = stage_dir(cfg, "prefer")
    pairs_path, report = d / "pairs.jsonl", d / "pairs.report.json"
    if report.exists():  # mined already: the pairs file is complete (written before the report)
        return json.loads(report.read_text(encoding="utf-8"))
    items = load_items(_mine_items(cfg, d / "mine_items.jsonl"))
    held = {t.name for t in split_bank(load_bank(), cfg.held_out)[1]}
    llm = make_llm(base or "embedded-base", adapter=str(adapter), backend="transformers", device=device)
    formats = [f for f, _ in format_mix(cfg.formats)]
    result = mine_pairs(llm, items, formats, held, batch_size=4 if device == "cpu" else 32, max_tokens=cfg.eval_max_tokens,
                        log_dir=d / "mine")
    write_jsonl_atomic(pairs_path, [p.to_trl() for p in result.pairs])
    summary = {**result.summary(), "items": len(items), "formats": formats}
    write_text_atomic(report, json.dumps({**summary, "pairs_detail": result.records}, indent=1, ensure_ascii=False))
    log(f"[prefer] mined {len(result.pairs)} pairs from {result.steps} steps of {len(items)} train-side items: {summary['kinds']}")
    return {**summary, "pairs_detail": result.records}


def _dpo(cfg: RecipeConfig, base: str | None, adapter: Path, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.data.pairs import read_pairs
    from tooltune.train.dpo import DPOConfig, DPOTrainer
    from tooltune.train.model import load_for_training
    from tooltune.train.trainer import checkpoints

    out = stage_dir(cfg, "prefer") / "dpo"
    tc = DPOConfig(out=str(out), ref=str(adapter), beta=cfg.prefer_beta, nll_weight=cfg.prefer_nll_weight,
                   format=",".join(f for f, _ in format_mix(cfg.formats)),
                   lr=cfg.prefer_lr, max_steps=cfg.prefer_steps, batch_size=cfg.batch_size, grad_accum=cfg.grad_accum,
                   max_length=cfg.max_length, save_steps=cfg.save_steps, seed=cfg.seed, report_to="none", eval_split=0.0,
                   scheduler="constant", warmup_ratio=0.0, resume=bool(checkpoints(out)), progress=False)
    model, tokenizer = load_for_training(base)
    trainer = DPOTrainer(tc, model, tokenizer, read_pairs(stage_dir(cfg, "prefer") / "pairs.jsonl"))
    res = trainer.run()
    last = res.history[-1] if res.history else {}
    log(f"[prefer] DPO: {res.steps} steps over {len(trainer.corpus.train)} pair renderings, loss {last.get('loss')}, "
        f"reward accuracy {last.get('reward_accuracy')}")
    return {"steps": res.steps, "loss": last.get("loss"), "reward_margin": last.get("reward_margin"),
            "reward_accuracy": last.get("reward_accuracy"), **trainer.corpus.counts(), "adapter": str(out)}


def _compare(cfg: RecipeConfig, base: str | None, sft: Path, dpo: Path, device: str) -> dict[str, Any]:
    from tooltune.data.synth.corpus import simulated_registry
    from tooltune.eval.evaluate import ModelSpec, run_eval
    from tooltune.eval.items import load_items
    from tooltune.eval.runner import EvalSettings
    from tooltune.llm import make_llm

    path, held_tools = heldout_items(cfg)
    items = load_items(path, limit=cfg.eval_limit)

    def spec(label: str, adapter: Path) -> ModelSpec:
        return ModelSpec(label, lambda: make_llm(base or "embedded-base", adapter=str(adapter), backend="transformers", device=device))

    formats = [f.strip() for f in cfg.eval_formats.split(",")]
    report = run_eval(items, [spec("sft", sft), spec("sft+dpo", dpo)], formats, EvalSettings(max_tokens=cfg.eval_max_tokens),
                      stage_dir(cfg, "prefer") / "eval", "held-out tools: SFT vs SFT+DPO (smollm2-tools prefer stage)",
                      batch_size=4 if device == "cpu" else 32, progress=False, implementations=simulated_registry(held_tools))
    table: dict[str, dict[str, Any]] = {}
    for r in report["runs"]:
        if not r.get("summary"):
            raise TooltuneError(f"prefer: the eval of {r['model']} in {r['format']} failed ({r.get('error')})")
        table.setdefault(r["model"], {})[r["format"]] = {k: r["summary"].get(k) for k in ("score", "tool_name_em", "args_em", "no_call_accuracy", "e2e_success")}
    return {"items": len(items), "report": str(stage_dir(cfg, "prefer") / "eval" / "report.md"), "summary": table}


def stage_prefer(cfg: RecipeConfig, log: Callable[[str], None], base: str | None = None) -> dict[str, Any]:
    """Mine -> DPO -> compare -> ship decision. `base`: the base model folder (None = the embedded SmolLM2)."""
    from tooltune.llm.transformers_backend import resolve_device

    sft = stage_dir(cfg, "train")
    if not is_adapter_dir(sft):
        raise TooltuneError(f"prefer: no SFT adapter in {sft}; run the train stage first (--stages train,prefer)")
    device = resolve_device(cfg.device, "fp32")
    mined = _mine(cfg, base, sft, device, log)
    if not mined["pairs"]:
        log("[prefer] the SFT adapter made no pairable mistake on the train-side slice: nothing to prefer, it stays")
        return {"mine": {k: v for k, v in mined.items() if k != "pairs_detail"}, "ship": False, "adapter": str(sft)}
    dpo = _dpo(cfg, base, sft, log)
    if dpo["steps"] < cfg.prefer_steps:  # stopped by an interrupt: rerun to continue from the checkpoint
        return {"partial": True, "dpo": dpo}
    compared = _compare(cfg, base, sft, Path(dpo["adapter"]), device)
    scores = {m: sum(v["score"] or 0.0 for v in per_format.values()) for m, per_format in compared["summary"].items()}
    ship = scores["sft+dpo"] > scores["sft"]
    log(f"[prefer] held-out step score summed over formats: SFT {scores['sft']:.4f}, SFT+DPO {scores['sft+dpo']:.4f} -> "
        f"{'ship SFT+DPO' if ship else 'keep the SFT adapter'}")
    return {"mine": {k: v for k, v in mined.items() if k != "pairs_detail"}, "dpo": dpo, "eval": compared, "scores": scores,
            "ship": ship, "adapter": dpo["adapter"] if ship else str(sft)}
