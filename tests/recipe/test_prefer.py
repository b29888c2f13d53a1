"""The recipe's optional `prefer` stage end to end on a tiny model: mine the SFT adapter's
train-side mistakes, DPO from that adapter, compare on held-out items, decide what `export` ships."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tooltune.eval.mine import mix_mined
from tooltune.errors import TooltuneError
from tooltune.messages import read_jsonl, write_jsonl_atomic
from tooltune.recipe import smollm2_tools
from tooltune.recipe.prefer import _ship, draw_items, shipped_adapter, stage_prefer
from tooltune.recipe.smollm2_tools import run
from tooltune.recipe.state import RecipeConfig, mark_done, parse_draws, stage_dir
from tooltune.train.dataset import DEMO_CORPUS


def _demo_rows(indices: list[int], kind: str = "single", source: str = "synth-v3") -> list[dict]:
    """Demo-corpus rows offering only the tools they call, shaped like v3 corpus rows."""
    rows, demo = [], list(read_jsonl(DEMO_CORPUS))
    for i in indices:
        obj = demo[i][1]
        used = {c["function"]["name"] for m in obj["messages"] for c in m.get("tool_calls") or []}
        rows.append({**obj, "tools": [t for t in obj["tools"] if t["function"]["name"] in used], "source": source, "kinds": [kind], "lang": "en"})
    return rows


def test_draw_items_takes_v3_rows_by_first_kind_in_a_seeded_order(tmp_path):
    rows = _demo_rows([0, 1, 2]) + _demo_rows([3, 4], kind="chat") + _demo_rows([5], source="synth")
    write_jsonl_atomic(tmp_path / "train.jsonl", rows)
    picked = draw_items(tmp_path / "train.jsonl", 3, {"single": 2, "chat": 5, "no_fit": 4})
    assert sorted(p["id"] for p in picked if p["id"] in ("train3", "train4")) == ["train3", "train4"]  # every chat row, no more
    assert len(picked) == 4 and "train5" not in {p["id"] for p in picked}  # 2 single + 2 chat; the v2 row never drawn
    assert picked == draw_items(tmp_path / "train.jsonl", 3, {"single": 2, "chat": 5, "no_fit": 4})
    ids = {seed: [p["id"] for p in draw_items(tmp_path / "train.jsonl", seed, {"single": 3})] for seed in (0, 3)}
    assert ids == {0: ["train2", "train1", "train0"], 3: ["train0", "train2", "train1"]}  # random.Random(seed).shuffle's orders
    with pytest.raises(TooltuneError, match="--corpus-version 3"):
        draw_items(tmp_path / "train.jsonl", 0, {"no_fit": 1})


def test_mix_mined_caps_each_kind_across_files_in_order(tmp_path):
    def pairs_file(name: str, kinds: list[str]) -> Path:
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(f'{{"n": "{name}{i}"}}\n' for i in range(len(kinds))))
        path.with_suffix(".report.json").write_text(json.dumps({"pairs_detail": [{"kind": k} for k in kinds]}))
        return path

    a = pairs_file("a", ["no_call", "too_few_calls", "no_call", "wrong_value", "too_few_calls"])
    b = pairs_file("b", ["no_call", "too_few_calls", "no_call"])
    rows, kept = mix_mined([a, b], {"too_few_calls": 1, "wrong_value": 0})
    assert [json.loads(r)["n"] for r in rows] == ["a0", "a1", "a2", "b0", "b2"]  # uncapped no_call: all 4, from both files
    assert dict(kept) == {"no_call": 4, "too_few_calls": 1}
    a.with_suffix(".report.json").write_text(json.dumps({"pairs_detail": []}))
    with pytest.raises(TooltuneError, match="5 pairs but 0 in its report"):
        mix_mined([a], {})


def test_prefer_draws_and_caps_are_checked_with_one_line_errors():
    assert parse_draws("3:no_fit=50,knowledge=25;4:no_fit=70") == [(3, {"no_fit": 50, "knowledge": 25}), (4, {"no_fit": 70})]
    for bad in ("no_fit=50", "3:no_fit", "x:no_fit=1", "3:no_fit=-1"):
        with pytest.raises(TooltuneError, match="--prefer-draws"):
            RecipeConfig(prefer_draws=bad).validate()
    with pytest.raises(TooltuneError, match="--prefer-caps"):
        RecipeConfig(prefer_caps="too_few_calls").validate()


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
    from tooltune.train.config import TrainConfig
    from tooltune.train.trainer import train

    base = tmp_path / "tiny"
    tiny_model.save_pretrained(base)
    smol_tokenizer.save_pretrained(base)
    cfg = RecipeConfig(out=str(tmp_path / "run"), eval_max_tokens=8, prefer_draws="0:single=3;1:single=2,chat=1", prefer_caps="no_call=1",
                       prefer_weights="fp32", save_steps=1, eval_limit=2, device="cpu", bench_limit=0)
    held = _demo_rows([8, 9])  # current_time questions: the held-out tool
    train_rows = _demo_rows([0, 1, 2, 3]) + _demo_rows([10], kind="chat")  # the chat row offers current_time: never mined
    write_jsonl_atomic(stage_dir(cfg, "corpus") / "train.jsonl", train_rows)
    write_jsonl_atomic(stage_dir(cfg, "eval") / "heldout_eval.jsonl", held)
    write_jsonl_atomic(tmp_path / "sft.jsonl", train_rows)
    train(TrainConfig(data=str(tmp_path / "sft.jsonl"), model=str(base), out=str(stage_dir(cfg, "train")), format="json", max_steps=1,
                      eval_split=0.0, progress=False, report_to="none"))
    monkeypatch.setitem(smollm2_tools.STAGE_FUNCS, "prefer", lambda c, log: stage_prefer(c, log, base=str(base)))
    logs: list[str] = []
    done = run(cfg, ["prefer"], log=logs.append)["prefer"]
    d = stage_dir(cfg, "prefer")
    first, second = done["mine"]
    assert (first["items"], first["held_out_skipped"], second["items"], second["held_out_skipped"]) == (3, 0, 3, 1)
    mined = [json.loads(line) for k in (1, 2) for line in (d / f"pairs-{k}.jsonl").read_text().splitlines()]
    assert first["pairs"] + second["pairs"] == len(mined) > 0
    kinds = [r["kind"] for k in (1, 2) for r in json.loads((d / f"pairs-{k}.report.json").read_text())["pairs_detail"]]
    kept = [k for i, k in enumerate(kinds) if k != "no_call" or kinds[:i].count("no_call") < 1]
    assert done["mix"]["rows"] == len(kept) == len((d / "mix.jsonl").read_text().splitlines())
    assert done["dpo"]["steps"] == done["dpo"]["total_steps"] == math.ceil(done["dpo"]["train"] / 4)  # one pass, 1 x 4 rows a step
    assert set(done["judge"]["heldout"]) == {"sft", "sft+dpo"} and done["judge"]["items"] == 2 and done["judge"]["bfcl"] is None
    assert done["ship"] == (done["judge"]["heldout"]["sft+dpo"]["score"] > done["judge"]["heldout"]["sft"]["score"])
    assert done["adapter"] == (done["dpo"]["adapter"] if done["ship"] else str(stage_dir(cfg, "train")))
    assert shipped_adapter(cfg) == Path(done["adapter"])
    record = json.loads((d / "dpo" / "tooltune_train.json").read_text())
    assert (record["dpo"]["nll_weight"], record["config"]["lr"], record["format"]) == (cfg.prefer_nll_weight, cfg.prefer_lr, "json") == (1.0, 5e-5, "json")
    assert any(line.startswith("[prefer] BFCL skipped; held-out step score ") for line in logs)


def test_ship_rule_is_bfcl_and_not_below_on_the_held_out_set():
    held = {"sft": {"args_em": 0.641, "score": 1.9}, "sft+dpo": {"args_em": 0.641, "score": 1.8}}
    assert _ship({"heldout": held, "bfcl": {"passed": {"sft": 513, "sft+dpo": 518}}})[0] is True
    assert _ship({"heldout": held, "bfcl": {"passed": {"sft": 518, "sft+dpo": 518}}})[0] is False
    lower = {**held, "sft+dpo": {"args_em": 0.609, "score": 2.0}}
    assert _ship({"heldout": lower, "bfcl": {"passed": {"sft": 192, "sft+dpo": 194}}})[0] is False
    assert _ship({"heldout": lower, "bfcl": None}) == (True, "BFCL skipped; held-out step score 2.0000 vs 1.9000")
