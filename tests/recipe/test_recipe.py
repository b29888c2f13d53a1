"""The smollm2-tools recipe's plumbing: stage skipping, the format mix, overlong handling, CLI errors.
(The recipe's real run — hours of CPU — produced the shipped adapter; tests check the machinery.)"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tooltune.errors import TooltuneError
from tooltune.messages import Message, Sample, ToolCall
from tooltune.recipe.mixed_corpus import build_mixed_corpus, format_mix
from tooltune.recipe.smollm2_tools import run
from tooltune.recipe.state import RecipeConfig, mark_done


def test_finished_stages_are_skipped(tmp_path):
    cfg = RecipeConfig(out=str(tmp_path))
    mark_done(cfg, "sources", {"glaive": {"files": {"x.json": 3}}})
    logs: list[str] = []
    out = run(cfg, ["sources"], log=logs.append)
    assert out["sources"] == {"glaive": {"files": {"x.json": 3}}}
    assert logs == [f"[sources] done already ({tmp_path / 'sources' / 'done.json'})"]


def test_unknown_stage_is_a_clear_error(tmp_path):
    with pytest.raises(TooltuneError, match="unknown recipe stage 'trian'"):
        run(RecipeConfig(out=str(tmp_path)), ["trian"])


def test_format_mix_parses_weights():
    assert format_mix("json:3,react:1") == [("json", 3.0), ("react", 1.0)]
    assert format_mix("json") == [("json", 1.0)]


def _sample(question: str) -> dict:
    tools = [{"type": "function", "function": {"name": "calculator", "description": "calc",
              "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}]
    msgs = [Message("user", question), Message("assistant", None, [ToolCall("calculator", {"expression": "1+1"}, "c1")]),
            Message("tool", "2", tool_call_id="c1", name="calculator"), Message("assistant", "2")]
    return Sample(msgs, tools).to_openai()


def test_overlong_samples_are_dropped_not_truncated_and_languages_kept(smol_tokenizer):
    rows = [_sample("What is 1+1?"), _sample("一加一等于几？" * 3), _sample("long " * 400)]
    corpus = build_mixed_corpus(rows, smol_tokenizer, RecipeConfig(formats="json", max_length=400), eval_share=0.0)
    assert corpus.overlong == 1 and len(corpus.train) == 2
    texts = [smol_tokenizer.decode(ex.input_ids) for ex in corpus.train]
    assert any("<tool_call>" in t and "# 工具" in t for t in texts)  # the zh sample got the zh prompt
    assert any("# Tools" in t for t in texts)
    assert all(len(ex) <= 400 for ex in corpus.train)


def test_cli_rejects_an_unknown_recipe():
    done = subprocess.run([sys.executable, "-m", "tooltune.cli", "recipe", "smollm3-tools"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown recipe 'smollm3-tools'" in done.stderr and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "tooltune.cli", "recipe", "smollm2-tools", "--eval-weights", "int4"], capture_output=True, text=True)
    assert done.returncode == 2 and "--eval-weights 'int4': use fp32 or int8" in done.stderr


def test_hard_negative_no_call_rate_counts_only_negatives_first_steps(tmp_path):
    from tooltune.recipe.summary import negatives_no_call

    rows = [{"expect_tool_call": False, "steps": [{"called": False}]},
            {"expect_tool_call": False, "steps": [{"called": True}]},
            {"expect_tool_call": False, "steps": [{"called": False}]},
            {"expect_tool_call": True, "steps": [{"called": True}, {"called": False}]}]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert negatives_no_call(path) == 2 / 3


def test_negatives_split_by_kind_and_invalid_text_is_not_a_plain_answer(tmp_path):
    from tooltune.recipe.summary import item_kinds, negatives_no_call

    items = [{"id": "a", "kind": "no_fit"}, {"id": "b", "kind": "no_fit"}, {"id": "c", "kind": "chat"},
             {"id": "d", "kind": "chat"}, {"id": "e", "kind": "single"}]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    rows = [{"item_id": "a", "expect_tool_call": False, "steps": [{"called": True, "valid": True}]},
            {"item_id": "b", "expect_tool_call": False, "steps": [{"called": False, "valid": True}]},
            {"item_id": "c", "expect_tool_call": False, "steps": [{"called": False, "valid": True}]},
            {"item_id": "d", "expect_tool_call": False, "steps": [{"called": False, "valid": False}]},
            {"item_id": "e", "expect_tool_call": True, "steps": [{"called": True, "valid": True}]}]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    kinds = item_kinds(tmp_path / "items.jsonl")
    assert negatives_no_call(path) == 2 / 4
    assert negatives_no_call(path, kinds, "no_fit") == 1 / 2
    assert negatives_no_call(path, kinds, "chat") == 1 / 2
    assert negatives_no_call(path, kinds, "parallel") is None


def test_train_segments_record_steps_and_corpus_hash_and_cut_a_torn_line(tmp_path):
    from tooltune.recipe.segments import log_segment, read_segments

    corpus, train_dir = tmp_path / "corpus", tmp_path / "train"
    corpus.mkdir()
    train_dir.mkdir()
    (corpus / "train.jsonl").write_text('{"a": 1}\n', encoding="utf-8")
    (corpus / "done.json").write_text(json.dumps({"episode_weights": {"no_fit": 0.22}}), encoding="utf-8")
    log_segment(corpus, train_dir, 0, 10, 2, 5.0)
    (corpus / "train.jsonl").write_text('{"a": 2}\n', encoding="utf-8")  # a rebuilt corpus
    log_segment(corpus, train_dir, 10, 25, 2, None)
    with open(train_dir / "segments.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"steps": [26,')  # killed mid-write
    got = read_segments(train_dir)
    assert [g["steps"] for g in got] == [[1, 10], [11, 25]]
    assert got[0]["corpus_sha256"] != got[1]["corpus_sha256"] and len(got[0]["corpus_sha256"]) == 12
    assert got[0]["episode_weights"] == {"no_fit": 0.22} and got[0]["recipe_version"] == 2 and got[1]["minutes"] is None
    log_segment(corpus, train_dir, 25, 30, 2, None)  # the torn line was cut: the next one starts clean
    assert [g["steps"] for g in read_segments(train_dir)] == [[1, 10], [11, 25], [26, 30]]
    lines = (train_dir / "segments.jsonl").read_text(encoding="utf-8").splitlines()
    (train_dir / "segments.jsonl").write_text("\n".join([lines[0], "{oops", *lines[1:]]) + "\n", encoding="utf-8")
    with pytest.raises(TooltuneError, match=r"segments.jsonl:2: not valid JSON .*delete that line"):
        read_segments(train_dir)  # a bad line inside the log is reported, not skipped


def test_lr_sweep_trains_at_the_rate_the_sweep_picked(tmp_path):
    from tooltune.recipe.smollm2_tools import _final_lr

    logs: list[str] = []
    cfg = RecipeConfig(out=str(tmp_path), lr=1e-3, lr_from_sweep=True)
    with pytest.raises(TooltuneError, match="--lr sweep: the sweep stage has not run in this --out"):
        _final_lr(cfg, logs.append)
    mark_done(cfg, "sweep", {"best": "lr=0.004", "eval_loss": {"lr=0.001": 0.44, "lr=0.004": 0.28}})
    assert _final_lr(cfg, logs.append) == 0.004
    assert logs == ["[train] learning rate from the sweep: lr=0.004"]
    assert _final_lr(RecipeConfig(out=str(tmp_path), lr=2e-3), logs.append) == 2e-3  # a given rate wins


def test_training_options_are_checked_with_one_line_errors(tmp_path):
    from typer.testing import CliRunner

    from tooltune.cli import app

    cases = {("--lr", "1e-3,2e-3"): "--lr '1e-3,2e-3': give one positive learning rate, e.g. 1e-3, or 'sweep'",
             ("--lr", "fast"): "--lr 'fast': give one positive learning rate",
             ("--lr", "-1"): "--lr '-1': give one positive learning rate",
             ("--sweep-lrs", "1e-3,abc"): "--sweep-lrs '1e-3,abc': give positive learning rates separated by commas",
             ("--scheduler", "step"): "--scheduler 'step': use one of cosine, linear, constant",
             ("--device", "tpu"): "--device 'tpu': use one of cpu, cuda, auto",
             ("--text-results", "1.5"): "--text-results 1.5: give a share between 0 and 1, e.g. 0.2",
             ("--grad-accum", "0"): "--grad-accum, --max-length, --rank, --sweep-steps and --save-steps must be at least 1"}
    for args, message in cases.items():
        result = CliRunner().invoke(app, ["recipe", "smollm2-tools", "--out", str(tmp_path), *args])
        assert isinstance(result.exception, TooltuneError) and message in str(result.exception), (args, result.output)
    assert not list(tmp_path.iterdir())  # nothing started


@pytest.mark.parametrize("bad", [{"corpus_version": 4}, {"replay": 1.5}, {"replay": -0.1}])
def test_v3_corpus_options_are_checked(bad):
    with pytest.raises(TooltuneError, match=r"give version 2 or 3 and a replay share between 0 and 1"):
        RecipeConfig(**bad).validate()
    RecipeConfig(corpus_version=2, replay=0.0).validate()


def test_init_adapter_names_the_packaged_adapters_or_a_folder():
    from tooltune.llm.embedded import SHIPPED_ADAPTER, V2_ADAPTER
    from tooltune.recipe.smollm2_tools import _init_adapter

    assert _init_adapter(RecipeConfig(init_adapter="v2")) == str(V2_ADAPTER)
    assert _init_adapter(RecipeConfig(init_adapter="shipped")) == str(SHIPPED_ADAPTER)
    assert _init_adapter(RecipeConfig(init_adapter="runs/v3b/train")) == "runs/v3b/train"
    assert _init_adapter(RecipeConfig()) is None
