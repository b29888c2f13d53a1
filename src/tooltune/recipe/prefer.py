"""The recipe's optional `prefer` stage (run it by naming it: `--stages prefer`): preference
training on an SFT adapter's own mistakes — how recipe v3's shipped adapter was made from v2's
(`--prefer-from v2`; docs/results.md, "DPO run 4").

  1. draw   train-side v3 rows by first episode kind, one stratified draw per `prefer_draws`
            entry (SEED:kind=N,...), where the SFT adapter errs most (no-fit requests, knowledge)
  2. mine   the SFT adapter runs teacher-forced over each draw (items offering a held-out eval
            tool are skipped); each wrong step becomes a pair (eval/mine.py)
  3. mix    the pairs of every draw, at most `prefer_caps` of a kind (eval/mine.py `mix_mined`)
  4. dpo    `dpo_trainer` with the SFT adapter as reference and starting point, one pass by default
  5. judge  SFT vs SFT+DPO: BFCL (`bench_limit` items per category) and the held-out items
            (first `eval_limit`), in `prefer_format`
  6. ship   issue #28's rule: more BFCL items right and name + exact arguments on the held-out set
            not below SFT's; with BFCL skipped (`--bench-limit 0`, bfcl-eval missing), a higher
            held-out step score. `export` then ships prefer/dpo (`shipped_adapter`).

Each part keeps its output (draw/pairs files, mining logs, dpo/ checkpoints, eval runs), so a
rerun continues where it stopped.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable

from tooltune.errors import TooltuneError
from tooltune.llm.embedded import is_adapter_dir, named_adapter
from tooltune.messages import write_jsonl_atomic, write_text_atomic
from tooltune.recipe.heldout import heldout_items
from tooltune.recipe.state import RecipeConfig, is_done, parse_counts, parse_draws, read_done, stage_dir


def shipped_adapter(cfg: RecipeConfig) -> Path:
    """The adapter `export` ships: what the prefer stage picked when it ran, else train/."""
    if is_done(cfg, "prefer"):
        return Path(read_done(cfg, "prefer")["adapter"])
    return stage_dir(cfg, "train")


def sft_adapter(cfg: RecipeConfig) -> Path:
    return stage_dir(cfg, "train") if cfg.prefer_from == "train" else Path(named_adapter(cfg.prefer_from))


def draw_items(corpus: Path, seed: int, want: dict[str, int]) -> list[dict[str, Any]]:
    """Up to want[kind] v3 rows (source synth-v3) whose first episode is of that kind, in an order
    shuffled by `seed`, as eval items with their row number as id."""
    rows = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    got: dict[str, int] = {}
    picked = []
    for i in order:
        row = rows[i]
        if row.get("source") != "synth-v3" or not any(m.get("role") == "assistant" for m in row["messages"]):
            continue
        kind = row["kinds"][0]
        if got.get(kind, 0) < want.get(kind, 0):
            got[kind] = got.get(kind, 0) + 1
            picked.append({"id": f"train{i}", "messages": row["messages"], "tools": row["tools"], "lang": row["lang"]})
    if not picked:
        raise TooltuneError(f"prefer: no v3 row of kinds {', '.join(want)} in {corpus}; build the corpus with --corpus-version 3")
    return picked


def _mine(cfg: RecipeConfig, base: str | None, sft: Path, device: str, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Draw and mine each of `prefer_draws`; returns each draw's report (without per-pair detail)."""
    from tooltune.eval.mine import held_out_names, mine_pairs
    from tooltune.eval.items import load_items
    from tooltune.llm import make_llm

    d, llm, reports = stage_dir(cfg, "prefer"), None, []
    excluded = held_out_names(load_items(heldout_items(cfg)[0]))
    for k, (seed, want) in enumerate(parse_draws(cfg.prefer_draws), start=1):
        pairs_path, report = d / f"pairs-{k}.jsonl", d / f"pairs-{k}.report.json"
        if not report.exists():  # the report is written after its pairs file: present = mined
            items_path = d / f"mine_items-{k}.jsonl"
            if not items_path.exists():
                write_jsonl_atomic(items_path, draw_items(stage_dir(cfg, "corpus") / "train.jsonl", seed, want))
            llm = llm or make_llm(base or "embedded-base", adapter=str(sft), backend="transformers", device=device, weights=cfg.prefer_weights)
            items = load_items(items_path)
            result = mine_pairs(llm, items, [cfg.prefer_format], excluded, batch_size=4 if device == "cpu" else 32,
                                max_tokens=cfg.eval_max_tokens, log_dir=d / f"mine-{k}")
            write_jsonl_atomic(pairs_path, [p.to_trl() for p in result.pairs])
            summary = {**result.summary(), "items": len(items), "seed": seed, "draw": want}
            write_text_atomic(report, json.dumps({**summary, "pairs_detail": result.records}, indent=1, ensure_ascii=False))
            log(f"[prefer] draw {k}: mined {len(result.pairs)} pairs from {result.steps} steps of {len(items)} items: "
                + ", ".join(f"{kind} {n}" for kind, n in summary["kinds"].items() if n))
        reports.append({key: v for key, v in json.loads(report.read_text(encoding="utf-8")).items() if key != "pairs_detail"})
    return reports


def _dpo(cfg: RecipeConfig, base: str | None, sft: Path, mix: Path, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.train.dpo import DPOConfig, dpo_trainer
    from tooltune.train.trainer import checkpoints

    out = stage_dir(cfg, "prefer") / "dpo"
    tc = DPOConfig.of(data=str(mix), model=base, out=str(out), ref=str(sft), beta=cfg.prefer_beta, nll_weight=cfg.prefer_nll_weight,
                      format=cfg.prefer_format, lr=cfg.prefer_lr, epochs=cfg.prefer_epochs, batch_size=cfg.batch_size,
                      grad_accum=cfg.grad_accum, max_length=cfg.prefer_max_length, save_steps=cfg.save_steps, seed=cfg.seed,
                      report_to="none", eval_split=0.0, scheduler="constant", warmup_ratio=0.0, resume=bool(checkpoints(out)), progress=False)
    trainer = dpo_trainer(tc)  # loads the base itself, so its record says whether that is the embedded model
    res = trainer.run()
    last = res.history[-1] if res.history else {}
    log(f"[prefer] DPO: {res.steps} of {trainer.total_steps()} steps over {len(trainer.corpus.train)} pair renderings, "
        f"loss {last.get('loss')}, reward accuracy {last.get('reward_accuracy')}")
    return {"steps": res.steps, "total_steps": trainer.total_steps(), "loss": last.get("loss"), "reward_margin": last.get("reward_margin"),
            "reward_accuracy": last.get("reward_accuracy"), **trainer.corpus.counts(), "adapter": str(out)}


def _judge(cfg: RecipeConfig, base: str | None, sft: Path, dpo: Path, device: str, log: Callable[[str], None]) -> dict[str, Any]:
    """SFT vs SFT+DPO on the held-out items and BFCL, in `prefer_format`."""
    from tooltune.data.synth.corpus import simulated_registry
    from tooltune.eval.evaluate import ModelSpec, run_eval
    from tooltune.eval.items import load_items
    from tooltune.eval.runner import EvalSettings
    from tooltune.llm import make_llm
    from tooltune.recipe.bench_stage import bench_stage

    path, held_tools = heldout_items(cfg)
    items = load_items(path, limit=cfg.eval_limit)
    d = stage_dir(cfg, "prefer")

    def spec(label: str, adapter: Path) -> ModelSpec:
        return ModelSpec(label, lambda: make_llm(base or "embedded-base", adapter=str(adapter), backend="transformers", device=device))

    models = [spec("sft", sft), spec("sft+dpo", dpo)]
    report = run_eval(items, models, [cfg.prefer_format], EvalSettings(max_tokens=cfg.eval_max_tokens), d / "eval",
                      "held-out tools: SFT vs SFT+DPO (smollm2-tools prefer stage)", batch_size=4 if device == "cpu" else 32,
                      progress=False, implementations=simulated_registry(held_tools))
    held: dict[str, dict[str, Any]] = {}
    for r in report["runs"]:
        if not r.get("summary"):
            raise TooltuneError(f"prefer: the eval of {r['model']} in {r['format']} failed ({r.get('error')})")
        held[r["model"]] = {k: r["summary"].get(k) for k in ("score", "tool_name_em", "args_em", "no_call_accuracy", "e2e_success")}
    bfcl = bench_stage(models, d, "compare", cfg.bench_limit, cfg.bench_categories, log)
    return {"items": len(items), "report": str(d / "eval" / "report.md"), "heldout": held, "bfcl": bfcl}


def _ship(judged: dict[str, Any]) -> tuple[bool, str]:
    """Issue #28's rule when BFCL ran, else the held-out step score; returns (ship, why)."""
    held, bfcl = judged["heldout"], judged["bfcl"]
    if bfcl and "passed" in bfcl:
        right, args = bfcl["passed"], {m: held[m]["args_em"] or 0.0 for m in held}
        why = f"BFCL {right['sft+dpo']} vs {right['sft']} items right, held-out name + exact args {args['sft+dpo']:.3f} vs {args['sft']:.3f}"
        return right["sft+dpo"] > right["sft"] and args["sft+dpo"] >= args["sft"], why
    score = {m: held[m]["score"] or 0.0 for m in held}
    return score["sft+dpo"] > score["sft"], f"BFCL skipped; held-out step score {score['sft+dpo']:.4f} vs {score['sft']:.4f}"


def stage_prefer(cfg: RecipeConfig, log: Callable[[str], None], base: str | None = None) -> dict[str, Any]:
    """Draw -> mine -> mix -> DPO -> judge -> ship decision. `base`: the base model folder (None = the embedded SmolLM2)."""
    from tooltune.eval.mine import mix_mined
    from tooltune.llm.transformers_backend import resolve_device

    sft = sft_adapter(cfg)
    if not is_adapter_dir(sft):
        raise TooltuneError(f"prefer: no SFT adapter in {sft}; run the train stage first (--stages train,prefer) or pass --prefer-from v2")
    device = resolve_device(cfg.device, "fp32")
    mined = _mine(cfg, base, sft, device, log)
    d = stage_dir(cfg, "prefer")
    rows, kept = mix_mined([d / f"pairs-{k}.jsonl" for k in range(1, len(mined) + 1)], parse_counts(cfg.prefer_caps, "--prefer-caps"))
    record: dict[str, Any] = {"sft": str(sft), "mine": mined, "mix": {"rows": len(rows), "kinds": dict(kept)}}
    if not rows:
        log("[prefer] no pair left after mining and mixing: nothing to prefer, the SFT adapter stays")
        return {**record, "ship": False, "adapter": str(sft)}
    mix = d / "mix.jsonl"
    write_text_atomic(mix, "\n".join(rows) + "\n")
    log(f"[prefer] mix: {len(rows)} pairs ({', '.join(f'{k} {n}' for k, n in kept.items())})")
    dpo = _dpo(cfg, base, sft, mix, log)
    if dpo["steps"] < dpo["total_steps"]:  # stopped by an interrupt: rerun to continue from the checkpoint
        return {"partial": True, "dpo": dpo}
    judged = _judge(cfg, base, sft, Path(dpo["adapter"]), device, log)
    ship, why = _ship(judged)
    log(f"[prefer] {why} -> {'ship SFT+DPO' if ship else 'keep the SFT adapter'}")
    return {**record, "dpo": dpo, "judge": judged, "why": why, "ship": ship, "adapter": dpo["adapter"] if ship else str(sft)}
