"""The recipe's optional `prefer` stage end to end on a tiny model: mine the SFT adapter's
train-side mistakes, DPO from that adapter, compare on held-out items, decide what `export` ships."""

from __future__ import annotations

import json

from tooltune.messages import read_jsonl, write_jsonl_atomic
from tooltune.recipe import smollm2_tools
from tooltune.recipe.prefer import shipped_adapter, stage_prefer
from tooltune.recipe.smollm2_tools import run
from tooltune.recipe.state import RecipeConfig, mark_done, stage_dir
from tooltune.train.dataset import DEMO_CORPUS


def _demo_rows(n: int) -> list[dict]:
    rows = []
    for _, obj in list(read_jsonl(DEMO_CORPUS))[:n]:
        used = {c["function"]["name"] for m in obj["messages"] for c in m.get("tool_calls") or []} or {"calculator"}
        rows.append({**obj, "tools": [t for t in obj["tools"] if t["function"]["name"] in used], "source": "synth"})
    return rows


def test_prefer_is_off_by_default_and_ships_only_a_winner(tmp_path):
    cfg = RecipeConfig(out=str(tmp_path))
    for stage in ("sources", "corpus", "sweep", "train", "eval", "export"):
        mark_done(cfg, stage, {})
    logs: list[str] = []
    assert "prefer" not in run(cfg, log=logs.append)  # every default stage done; prefer never started
    assert shipped_adapter(cfg) == stage_dir(cfg, "train")
    mark_done(cfg, "prefer", {"ship": False, "adapter": str(stage_dir(cfg, "train"))})
    assert shipped_adapter(cfg) == stage_dir(cfg, "train")
    mark_done(cfg, "prefer", {"ship": True, "adapter": str(tmp_path / "prefer" / "dpo")})
    assert shipped_adapter(cfg) == tmp_path / "prefer" / "dpo"


def test_prefer_stage_end_to_end_on_a_tiny_model(tmp_path, monkeypatch, tiny_model, smol_tokenizer):
    from tooltune.train.trainer import TrainConfig, train

    base = tmp_path / "tiny"
    tiny_model.save_pretrained(base)
    smol_tokenizer.save_pretrained(base)
    cfg = RecipeConfig(out=str(tmp_path / "run"), formats="json:1", eval_formats="json", eval_max_tokens=8, prefer_items=4, prefer_steps=2,
                       batch_size=2, grad_accum=1, save_steps=1, eval_limit=2, device="cpu", bench_limit=0)
    rows = _demo_rows(6)
    write_jsonl_atomic(stage_dir(cfg, "corpus") / "train.jsonl", rows[:4])
    write_jsonl_atomic(stage_dir(cfg, "eval") / "heldout_eval.jsonl", rows[4:])
    write_jsonl_atomic(tmp_path / "sft.jsonl", rows[:4])
    train(TrainConfig(data=str(tmp_path / "sft.jsonl"), model=str(base), out=str(stage_dir(cfg, "train")), format="json", max_steps=1,
                      eval_split=0.0, progress=False, report_to="none"))
    monkeypatch.setitem(smollm2_tools.STAGE_FUNCS, "prefer", lambda c, log: stage_prefer(c, log, base=str(base)))
    logs: list[str] = []
    done = run(cfg, ["prefer"], log=logs.append)["prefer"]
    mine = done["mine"]
    pairs = [json.loads(line) for line in (stage_dir(cfg, "prefer") / "pairs.jsonl").read_text().splitlines()]
    assert mine["items"] == 4 and mine["pairs"] == len(pairs) > 0 and sum(mine["kinds"].values()) == len(pairs)
    assert done["dpo"]["steps"] == 2 and done["dpo"]["train"] == len(pairs) - done["dpo"]["identical_dropped"]
    assert set(done["eval"]["summary"]) == {"sft", "sft+dpo"} and done["eval"]["items"] == 2
    assert done["ship"] == (done["scores"]["sft+dpo"] > done["scores"]["sft"])
    assert done["adapter"] == (done["dpo"]["adapter"] if done["ship"] else str(stage_dir(cfg, "train")))
    assert (stage_dir(cfg, "prefer") / "dpo" / "adapter_model.safetensors").exists()
    record = json.loads((stage_dir(cfg, "prefer") / "dpo" / "tooltune_train.json").read_text())
    assert (record["dpo"]["nll_weight"], record["config"]["lr"]) == (cfg.prefer_nll_weight, cfg.prefer_lr) == (1.0, 5e-5)
    assert json.loads((stage_dir(cfg, "prefer") / "done.json").read_text())["ship"] == done["ship"]
    assert any(line.startswith("[prefer] held-out step score summed over formats: SFT ") for line in logs)
