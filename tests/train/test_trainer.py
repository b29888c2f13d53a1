"""The training loop on tiny random models: learning, saving for `tooltune run`, exact resume,
LoRA + merge, sweeps and the CLI commands."""

from __future__ import annotations

import csv
import shutil

import pytest
import torch
from typer.testing import CliRunner

from tooltune.cli import app
from tooltune.errors import TooltuneError
from tooltune.train.metrics import FIELDS, read_metrics
from tooltune.train.config import TrainConfig
from tooltune.train.trainer import train

runner = CliRunner()


@pytest.fixture
def base_dir(tmp_path, make_tiny, smol_tokenizer):
    """A tiny random model saved as an HF folder, like any base model a user would pass."""
    path = tmp_path / "base"
    make_tiny().save_pretrained(path)
    smol_tokenizer.save_pretrained(path)
    return path


def _cfg(out, **kw):
    defaults = dict(lora=False, lr=3e-3, max_steps=6, batch_size=2, max_length=1024,
                    eval_split=0.15, out=str(out), progress=False, report_to="none")
    return TrainConfig(**{**defaults, **kw})


def test_full_finetune_learns_logs_and_reloads_for_tooltune_run(tmp_path, base_dir, short_jsonl):
    from tooltune.llm.transformers_backend import TransformersLLM, load_model
    from tooltune.train.dataset import build_corpus, load_samples
    from tooltune.train.loss import LossModel
    from tooltune.train.packing import collate

    out = tmp_path / "full"
    result = train(_cfg(out, data=str(short_jsonl), model=str(base_dir), lr=1e-2, max_steps=8, batch_size=2, eval_split=0.2, warmup_ratio=0.0))
    losses = [row["loss"] for row in result.history]
    assert result.steps == 8 and sum(losses[-3:]) / 3 < losses[0] - 0.05
    rows = read_metrics(out / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 9))
    assert all(r["grad_norm"] > 0 and "lr" in r for r in rows) and "eval_loss" in rows[-1]
    assert list(csv.DictReader((out / "metrics.csv").open()).fieldnames) == FIELDS
    assert result.pack is not None and 0 <= result.pack.padding_waste < 0.5

    # The saved folder is what `tooltune run --model OUT` loads; its eval loss is the trained one.
    model, tokenizer = load_model(str(out))
    corpus = build_corpus(load_samples(short_jsonl), tokenizer, "react", max_length=1024, eval_split=0.2)
    batch = collate([[e] for e in corpus.eval], tokenizer.pad_token_id)
    with torch.no_grad():
        loss_sum, count = LossModel(model)(batch["input_ids"], batch["labels"], batch["position_ids"])
    assert float(loss_sum / count) == pytest.approx(result.eval_loss, rel=1e-4)
    assert TransformersLLM(str(out)).model is model


def test_resume_continues_exactly_where_the_checkpoint_left_off(tmp_path, make_tiny, smol_tokenizer, short_samples):
    cfg = dict(max_steps=6, grad_accum=2, batch_size=1, max_length=512, save_steps=3, save_total_limit=3, pack=False)
    straight = train(_cfg(tmp_path / "a", **cfg), make_tiny(), smol_tokenizer, short_samples)
    interrupted = tmp_path / "b"
    train(_cfg(interrupted, **cfg), make_tiny(), smol_tokenizer, short_samples)
    assert sorted(p.name for p in (interrupted / "checkpoints").iterdir()) == ["step-000003", "step-000006"]
    shutil.rmtree(interrupted / "checkpoints" / "step-000006")  # as if it crashed after step 3
    resumed = train(_cfg(interrupted, resume=True, **cfg), make_tiny(seed=1), smol_tokenizer, short_samples)
    assert [r["step"] for r in resumed.history] == [4, 5, 6]
    for got, want in zip(resumed.history, straight.history[3:]):
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-4)
        assert got["lr"] == pytest.approx(want["lr"], rel=1e-6)
    with pytest.raises(TooltuneError, match="no checkpoint"):
        train(_cfg(tmp_path / "c", resume=True, **cfg), make_tiny(), smol_tokenizer, short_samples)


def test_lora_with_checkpointing_then_merge_gives_a_runnable_model(tmp_path, base_dir, short_jsonl):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from tooltune.agent import Agent
    from tooltune.formats import get_format
    from tooltune.formats.chat import ChatRenderer
    from tooltune.llm.transformers_backend import TransformersLLM
    from tooltune.messages import Message
    from tooltune.tools import builtin_registry

    out = tmp_path / "lora"
    result = train(_cfg(out, data=str(short_jsonl), model=str(base_dir), lora=True, rank=4, alpha=8, lr=1e-2, max_steps=3, gradient_checkpointing=True))
    assert (out / "adapter_config.json").exists() and not (out / "model.safetensors").exists()
    assert result.history[-1]["grad_norm"] > 0

    merged = tmp_path / "merged"
    res = runner.invoke(app, ["merge", "--adapter", str(out), "--out", str(merged)])
    assert res.exit_code == 0, res.output
    assert (merged / "config.json").exists() and not (merged / "adapter_config.json").exists()

    ids = torch.tensor([[1, 2, 3, 4, 5, 6]])
    peft_model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), str(out)).eval()
    base_logits = AutoModelForCausalLM.from_pretrained(base_dir)(ids).logits
    llm = TransformersLLM(str(merged))
    with torch.no_grad():
        merged_logits = llm.model(ids).logits
        torch.testing.assert_close(merged_logits, peft_model(ids).logits, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(merged_logits, base_logits, atol=1e-4)  # the adapter changed something
    # What `tooltune run --model MERGED` generates is what base + adapter generate, token for token.
    request = Agent(llm, builtin_registry(), get_format("react"), "en", max_tokens=8).request([Message("user", "hi")])
    request.stop = []
    completion = llm.complete(request)
    prompt = ChatRenderer(llm.tokenizer).prompt_text(request.rendered)
    inputs = llm.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        expected = peft_model.generate(**inputs, max_new_tokens=8, do_sample=False, pad_token_id=llm.tokenizer.pad_token_id)
    new_ids = expected[0, inputs["input_ids"].shape[1]:]
    assert completion.completion_tokens == len(new_ids) == 8
    assert completion.text == llm.tokenizer.decode(new_ids, skip_special_tokens=True)


def test_sweep_writes_one_png_and_a_csv(tmp_path, make_tiny, smol_tokenizer, short_samples):
    from tooltune.train.sweep import parse_lrs, run_sweep

    base = _cfg(tmp_path / "sweep", max_steps=3, max_length=512)
    png, csv_path, results = run_sweep(base, parse_lrs("1e-4,3e-3"), [None, "react"], make_tiny(), smol_tokenizer, short_samples)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(results) == ["lr=0.0001", "lr=0.003", "lr=0.0001 scale=react", "lr=0.003 scale=react"]
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 12 and {r["run"] for r in rows} == set(results)
    # Every run starts from the same weights: same first-step loss for the same loss scale.
    assert results["lr=0.0001"].history[0]["loss"] == pytest.approx(results["lr=0.003"].history[0]["loss"], rel=1e-6)
    assert not (tmp_path / "sweep" / "lr0.0001" / "checkpoints").exists()
    with pytest.raises(TooltuneError, match="--lrs"):
        parse_lrs("1e-4,fast")


def test_cli_train_inspect_and_mistakes(tmp_path, base_dir, short_jsonl):
    from tooltune.llm.loading import load_tokenizer
    from tooltune.train.dataset import build_corpus, load_samples

    out = tmp_path / "cli"
    res = runner.invoke(app, ["train", "--data", str(short_jsonl), "--model", str(base_dir), "--full", "--max-steps", "2",
                              "--batch-size", "2", "--lr", "1e-3", "--out", str(out), "--report-to", "none", "--max-length", "400"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())  # rich wraps long lines
    assert "done" in text and "real tokens/s" in text and "padding waste" in text and (out / "config.json").exists()
    want = build_corpus(load_samples(short_jsonl), load_tokenizer(str(base_dir)), "react", max_length=400, eval_split=0.1)
    assert want.overlong > 0
    assert (f"{len(want.train)} train / {len(want.eval)} eval samples ({want.langs['en']} en, {want.langs['zh']} zh); over --max-length 400: "
            f"{want.overlong} held out for eval, 0 with trailing turns dropped") in text, text

    res = runner.invoke(app, ["inspect-sample", "--index", "1", "--model", str(base_dir), "--loss-scale", "react"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "How much is 1234 * 5678?" in text and "trained" in text and "loss weight > 1" in text
    res = runner.invoke(app, ["inspect-sample", "--index", "1", "--model", str(base_dir), "--tree"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "── shared prefix: " in text and text.count("← --index") == 1 and "How much is 1234 * 5678?" in text and "fewer tokens to run" in text

    for args, message in [
        (["train", "--lora", "--full"], "choose one of --lora and --full"),
        (["train", "--data", str(tmp_path / "nope.jsonl"), "--model", str(base_dir)], "not found"),
        (["train", "--model", str(base_dir), "--scheduler", "step"], "--scheduler"),
        (["inspect-sample", "--index", "999", "--model", str(base_dir)], "out of range"),
        (["merge", "--adapter", str(tmp_path), "--out", str(tmp_path / "m")], "no LoRA adapter"),
    ]:
        res = runner.invoke(app, args)
        assert isinstance(res.exception, TooltuneError) and message in str(res.exception), (args, res.output)


def test_init_adapter_continues_a_trained_lora(tmp_path, make_tiny, smol_tokenizer, short_samples):
    """--init-adapter trains the given adapter further (recipe v3 grows the shipped one): at a
    vanishing rate the saved adapter is the one it started from, and its first loss is lower
    than a fresh adapter's on the same batch."""
    from safetensors.torch import load_file

    cfg = dict(lora=True, max_length=512, pack=False, eval_split=0.0, scheduler="constant", warmup_ratio=0.0)
    train(_cfg(tmp_path / "a", max_steps=8, lr=1e-2, **cfg), make_tiny(), smol_tokenizer, short_samples)
    cont = train(_cfg(tmp_path / "b", max_steps=1, lr=1e-12, init_adapter=str(tmp_path / "a"), **cfg), make_tiny(), smol_tokenizer, short_samples)
    fresh = train(_cfg(tmp_path / "c", max_steps=1, lr=1e-12, **cfg), make_tiny(), smol_tokenizer, short_samples)
    a, b = load_file(tmp_path / "a" / "adapter_model.safetensors"), load_file(tmp_path / "b" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-6
    assert cont.history[0]["loss"] < fresh.history[0]["loss"] - 0.1
    with pytest.raises(TooltuneError, match="no LoRA adapter"):
        _cfg(tmp_path / "d", init_adapter=str(tmp_path)).validate()
