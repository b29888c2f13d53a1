"""DPO on tiny random models: exact reference at the start, the margin rising on the training
pairs, only the step's tokens scored, identical pairs dropped, and `train --dpo` on the rows that
`export --format dpo` writes (with an SFT adapter as reference, checkpoints and --resume)."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from tooltune.cli import app
from tooltune.data.pairs import StepPair
from tooltune.errors import TooltuneError
from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.messages import Message, ToolCall
from tooltune.train.dataset import IGNORE, build_step_example
from tooltune.train.dpo import DPOConfig, build_pair_corpus, dpo_trainer, margins

runner = CliRunner()


def first_step_pairs(samples) -> list[StepPair]:
    """Per sample, its first assistant step (chosen) against the opposite mistake (rejected):
    a refusal where a tool was called, a calculator call where it answered."""
    pairs = []
    for s in samples:
        at = next(i for i, m in enumerate(s.messages) if m.role == "assistant")
        gold = s.messages[at]
        wrong = (Message("assistant", "I cannot help with that.") if gold.tool_calls
                 else Message("assistant", None, [ToolCall("calculator", {"expression": "1+1"}, "c1")]))
        pairs.append(StepPair(s.messages[:at], gold, wrong, s.tools))
    return pairs


@pytest.fixture
def pairs(short_samples):
    return first_step_pairs(short_samples[:4])


def _cfg(out, **kw):
    defaults = dict(lora=True, rank=8, alpha=16, lr=5e-3, max_steps=8, batch_size=2, max_length=1024, eval_split=0.0,
                    out=str(out), progress=False, report_to="none", format="json", warmup_ratio=0.0, scheduler="constant")
    return DPOConfig(**{**defaults, **kw})


def test_dpo_starts_at_log2_and_raises_the_margin_on_its_pairs(tmp_path, make_tiny, smol_tokenizer, pairs):
    model = make_tiny()
    trainer = dpo_trainer(_cfg(tmp_path / "dpo"), model, smol_tokenizer, pairs)
    examples = trainer.corpus.train
    before = margins(trainer.model, smol_tokenizer, examples)
    # The reference was scored on the policy at its start values: margins are exactly 0 there.
    assert [p.ref_chosen - p.ref_rejected for p in examples] == pytest.approx(before, abs=1e-5)
    result = trainer.run()
    first = result.history[0]
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-5) and first["reward_margin"] == pytest.approx(0.0, abs=1e-5)
    after = margins(trainer.model, smol_tokenizer, examples)
    assert all(a > b + 1.0 for a, b in zip(after, before)), (before, after)
    assert result.history[-1]["reward_accuracy"] == 1.0 and result.history[-1]["loss"] < 0.3
    record = json.loads((tmp_path / "dpo" / "tooltune_train.json").read_text())
    assert record["dpo"] == {"ref": "base", "beta": 0.1, "nll_weight": 0.0, "pairs": 4, "train": 4, "eval": 0, "identical_dropped": 0, "overlong_dropped": 0}


def test_nll_weight_adds_the_chosen_steps_mean_token_nll_and_holds_it_up(tmp_path, make_tiny, smol_tokenizer, pairs):
    """RPO: at the start each pair's loss is log 2 + w x (-log pi(c)/|c|) exactly; after training
    the chosen steps are more likely than at the start (plain DPO may lower them)."""
    import torch
    from tooltune.train.dpo import LogpModel, dpo_losses, pair_batch

    trainer = dpo_trainer(_cfg(tmp_path / "rpo", nll_weight=1.0, max_steps=6), make_tiny(), smol_tokenizer, pairs)
    examples = trainer.corpus.train
    start = torch.tensor([p.ref_chosen for p in examples] + [p.ref_rejected for p in examples])
    losses, _ = dpo_losses(start, examples, 0.1, nll_weight=0.5)
    assert losses.tolist() == pytest.approx([math.log(2) + 0.5 * -p.ref_chosen / p.chosen.n_trained for p in examples], rel=1e-6)
    assert dpo_losses(start, examples, 0.1)[0].tolist() == pytest.approx([math.log(2)] * len(examples), rel=1e-6)
    trainer.run()
    with torch.no_grad():
        batch = pair_batch(examples, smol_tokenizer.pad_token_id)
        batch.pop("real_tokens")
        chosen_after = LogpModel(trainer.model.eval())(**batch)[:len(examples)].tolist()
    assert all(a > p.ref_chosen for a, p in zip(chosen_after, examples)), ([p.ref_chosen for p in examples], chosen_after)
    assert json.loads((tmp_path / "rpo" / "tooltune_train.json").read_text())["dpo"]["nll_weight"] == 1.0
    with pytest.raises(TooltuneError, match="--nll-weight -1"):
        dpo_trainer(_cfg(tmp_path / "x", nll_weight=-1.0), make_tiny(), smol_tokenizer, pairs)


@pytest.mark.parametrize("fmt", ["json", "react"])
def test_only_the_step_is_labelled_never_the_prompt_or_earlier_steps(smol_tokenizer, short_samples, fmt):
    sample = next(s for s in short_samples if sum(m.role == "assistant" for m in s.messages) >= 2)
    at = [i for i, m in enumerate(sample.messages) if m.role == "assistant"][1]  # the step after a tool result
    renderer = ChatRenderer(smol_tokenizer)
    f = get_format(fmt, "en")
    ex = build_step_example(sample.messages[:at], sample.messages[at], sample.tools, f, renderer)
    labelled = [i for i, lab in enumerate(ex.labels) if lab != IGNORE]
    assert labelled == list(range(labelled[0], labelled[-1] + 1))  # one contiguous run
    prompt_ids = smol_tokenizer(renderer.prompt_text(f.render(sample.messages[:at], sample.tools)), add_special_tokens=False)["input_ids"]
    assert labelled[0] == len(prompt_ids)  # the first scored token is the first one the model writes
    answer = sample.messages[at].content
    step_text = smol_tokenizer.decode([ex.input_ids[i] for i in labelled])
    assert step_text == (f"{answer}<|im_end|>" if fmt == "json" else f"Thought: I now know the final answer\nFinal Answer: {answer}<|im_end|>")


def test_pairs_whose_steps_are_equal_are_dropped_with_a_count(smol_tokenizer, pairs):
    same = StepPair(pairs[0].prompt, pairs[0].chosen, Message("assistant", None, [ToolCall(c.name, c.arguments, "other_id") for c in pairs[0].chosen.tool_calls],
                                                               reasoning_content=pairs[0].chosen.reasoning_content), pairs[0].tools)
    corpus = build_pair_corpus([same, *pairs[1:]], smol_tokenizer, "json,react")
    assert (corpus.pairs, corpus.identical, len(corpus.train)) == (4, 1, 6)  # 3 pairs x 2 formats
    with pytest.raises(TooltuneError, match="none of the 1 pairs is usable \\(1 with chosen == rejected"):
        build_pair_corpus([same], smol_tokenizer)


def test_bad_dpo_options_are_one_line_errors(tmp_path, pairs, smol_tokenizer, make_tiny):
    with pytest.raises(TooltuneError, match="--ref .*no LoRA adapter"):
        dpo_trainer(_cfg(tmp_path / "x", ref=str(tmp_path)), make_tiny(), smol_tokenizer, pairs)
    with pytest.raises(TooltuneError, match="--beta"):
        dpo_trainer(_cfg(tmp_path / "x", beta=0.0), make_tiny(), smol_tokenizer, pairs)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": [{"role": "user", "content": "hi"}], "chosen": [], "rejected": []}) + "\n")
    for args, message in ((["--dpo", "--data", str(bad)], "bad.jsonl:1: 'chosen' must be a list of exactly one assistant message"),
                          (["--dpo"], "--dpo needs pairs"), (["--beta", "0.2"], "add --dpo")):
        result = runner.invoke(app, ["train", *args])
        assert isinstance(result.exception, TooltuneError) and message in str(result.exception), (args, result.output)


def test_cli_dpo_on_exported_pairs_from_an_sft_adapter_with_resume(tmp_path, make_tiny, smol_tokenizer, short_jsonl, short_samples):
    from tooltune.data.io import export_file
    from tooltune.data.store import Store
    from tooltune.messages import Sample

    base = tmp_path / "base"
    make_tiny().save_pretrained(base)
    smol_tokenizer.save_pretrained(base)
    sft = tmp_path / "sft"
    res = runner.invoke(app, ["train", "--data", str(short_jsonl), "--model", str(base), "--max-steps", "1", "--out", str(sft), "--report-to", "none"])
    assert res.exit_code == 0, res.output
    # Pairs as the annotation page makes them: a model-written sample a person corrected.
    store = Store(tmp_path / "c.db")
    for pair in first_step_pairs(short_samples[:3]):
        sid = store.add_sample(Sample([*pair.prompt, pair.rejected], pair.tools), source="rollout")
        store.update_sample(sid, Sample([*pair.prompt, pair.chosen], pair.tools), author="ann", status="approved")
    assert export_file(store, tmp_path / "pairs.jsonl", "dpo") == 3
    args = ["train", "--dpo", "--data", str(tmp_path / "pairs.jsonl"), "--ref", str(sft), "--format", "json", "--eval-split", "0",
            "--batch-size", "1", "--report-to", "none", "--out", str(tmp_path / "dpo")]
    res = runner.invoke(app, [*args, "--max-steps", "2"])
    assert res.exit_code == 0, res.output
    assert "3 pairs -> 3 train / 0 eval" in res.output and "done: 2 steps" in res.output
    record = json.loads((tmp_path / "dpo" / "tooltune_train.json").read_text())
    assert record["base_model"] == str(base.resolve()) and record["dpo"]["ref"] == str(sft.resolve())
    adapter_cfg = json.loads((tmp_path / "dpo" / "adapter_config.json").read_text())
    assert adapter_cfg["r"] == json.loads((sft / "adapter_config.json").read_text())["r"]  # the SFT adapter, trained further
    res = runner.invoke(app, [*args, "--max-steps", "3", "--resume"])
    assert res.exit_code == 0, res.output
    assert "done: 3 steps" in res.output
    rows = [line.split(",")[0] for line in (tmp_path / "dpo" / "metrics.csv").read_text().splitlines()[1:]]
    assert rows == ["1", "2", "3"]
    # The corpus.db itself is accepted as --data (its human-edit pairs).
    res = runner.invoke(app, ["train", "--dpo", "--data", str(tmp_path / "c.db"), "--model", str(base), "--format", "json", "--eval-split", "0.3",
                              "--max-steps", "1", "--report-to", "none", "--out", str(tmp_path / "dpo2")])
    assert res.exit_code == 0, res.output
    assert "3 pairs -> 2 train / 1 eval" in res.output and "reference: base" in res.output
    # Held-out pairs: the eval loss after one step is a DPO loss near log 2, not None.
    eval_loss = json.loads((tmp_path / "dpo2" / "tooltune_train.json").read_text())["eval_loss"]
    assert eval_loss == pytest.approx(math.log(2), abs=0.05) and eval_loss != pytest.approx(math.log(2), abs=1e-7)
