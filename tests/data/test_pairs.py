"""Preference pairs from human edits: which revisions make a pair, the exact TRL rows written by
`export --format dpo`, and (when TRL is installed) DPOTrainer's own data processing accepting them."""

import copy
import json

import pytest

from tooltune.agent.edit import edit_observation, edit_tool_call
from tooltune.data.io import export_file
from tooltune.data.pairs import pairs_from_history, preference_pairs
from tooltune.data.store import Store
from tooltune.messages import Message, Sample, ToolCall

TOOLS = [{"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic.",
                                           "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                                                          "required": ["expression"]}}}]


def run(expr, result, answer, question="What is 3*8?"):
    call = ToolCall("calculator", {"expression": expr}, "call_1")
    return [Message("system", "Be brief."), Message("user", question),
            Message("assistant", None, [call], reasoning_content="I need the calculator."),
            Message("tool", result, tool_call_id="call_1", name="calculator"), Message("assistant", answer)]


def test_an_edited_rollout_step_becomes_one_pair(tmp_path):
    store = Store(tmp_path / "c.db")
    sid = store.add_sample(Sample(run("3*7", "21", "21"), TOOLS), source="rollout")
    edited = edit_tool_call(store.get_sample(sid).sample.messages, 0, arguments={"expression": "3*8"})
    store.update_sample(sid, Sample(edited, TOOLS), author="ann", expected_revision=1)  # the pending edited call
    store.update_sample(sid, Sample(run("3*8", "24", "24"), TOOLS), author="ann", status="approved", human_score=5)
    pairs = list(preference_pairs(store))
    assert len(pairs) == 1
    pair = pairs[0]
    assert (pair.sample_id, pair.model_revision, pair.human_revision, pair.author) == (sid, 1, 2, "ann")
    assert pair.prompt == run("3*7", "21", "21")[:2]
    assert pair.rejected.tool_calls[0].arguments == {"expression": "3*7"}
    assert pair.chosen.tool_calls[0].arguments == {"expression": "3*8"}
    out = tmp_path / "dpo.jsonl"
    assert export_file(store, out, "dpo") == 1
    row = json.loads(out.read_text())
    assert row == {
        "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 3*8?"}],
        "chosen": [{"role": "assistant", "content": "", "reasoning_content": "I need the calculator.",
                    "tool_calls": [{"type": "function", "id": "call_1", "function": {"name": "calculator", "arguments": {"expression": "3*8"}}}]}],
        "rejected": [{"role": "assistant", "content": "", "reasoning_content": "I need the calculator.",
                      "tool_calls": [{"type": "function", "id": "call_1", "function": {"name": "calculator", "arguments": {"expression": "3*7"}}}]}],
        "tools": TOOLS,
    }
    assert export_file(store, out, "dpo", ("draft",)) == 0  # only samples with the chosen statuses


def test_a_session_with_two_edits_gives_two_pairs_with_their_own_prefixes(tmp_path):
    """The annotation page stores what the model wrote (model:NAME) before each edit."""
    store = Store(tmp_path / "c.db")
    sid = store.add_sample(Sample(run("3*7", "21", "21")[:4], TOOLS), source="human", author="model:scripted")
    store.update_sample(sid, Sample(edit_tool_call(run("3*7", "21", "")[:4], 0, arguments={"expression": "3*8"}), TOOLS), author="ann")
    store.update_sample(sid, Sample(run("3*8", "24", "It is 42."), TOOLS), author="model:scripted")
    store.update_sample(sid, Sample(run("3*8", "24", "It is 24."), TOOLS), author="ann", status="approved")
    pairs = list(preference_pairs(store))
    assert [(p.model_revision, p.human_revision) for p in pairs] == [(1, 2), (3, 4)]
    assert pairs[1].prompt == run("3*8", "24", "")[:4]
    assert (pairs[1].rejected.content, pairs[1].chosen.content) == ("It is 42.", "It is 24.")


@pytest.mark.parametrize("case", ["observation", "imported", "undone", "model_retry", "status_only", "only_ids"])
def test_changes_that_are_not_a_person_correcting_the_model_give_no_pair(tmp_path, case):
    store = Store(tmp_path / "c.db")
    sid = store.add_sample(Sample(run("3*7", "21", "21"), TOOLS), source="imported" if case == "imported" else "rollout")
    messages = store.get_sample(sid).sample.messages
    if case == "observation":
        store.update_sample(sid, Sample(edit_observation(messages, 0, "22"), TOOLS), author="ann")
    elif case in ("imported", "undone"):
        store.update_sample(sid, Sample(edit_tool_call(messages, 0, arguments={"expression": "3*8"}), TOOLS), author="ann")
        if case == "undone":
            store.undo(sid, author="ann")
    elif case == "model_retry":
        store.update_sample(sid, Sample(run("3*9", "27", "27"), TOOLS), author="rollout")
    elif case == "status_only":
        store.set_status(sid, "approved", author="ann")
    elif case == "only_ids":  # the same step with a fresh call id is not a change
        store.update_sample(sid, Sample([*messages[:2], Message("assistant", None, [ToolCall("calculator", {"expression": "3*7"}, "call_9")],
                                                                  reasoning_content="I need the calculator.")], TOOLS), author="ann")
    store.set_status(sid, "approved")
    assert pairs_from_history(sid, store.revisions(sid)) == []


def _tools_template(tokenizer):
    tok = copy.deepcopy(tokenizer)
    tok.chat_template = (
        "{% if tools %}<|im_start|>system\nTOOLS {{ tools | map(attribute='function.name') | join(',') }}<|im_end|>\n{% endif %}"
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{% if m.tool_calls %}{% for c in m.tool_calls %}"
        "<tool_call>{{ {'name': c.function.name, 'arguments': c.function.arguments} | tojson }}</tool_call>{% endfor %}"
        "{% else %}{{ m.content }}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    return tok


def test_trl_dpo_trainer_accepts_the_rows(tmp_path, smol_tokenizer, tiny_model):
    """DPOTrainer tokenizes the exported rows with the model's tool template (no training)."""
    pytest.importorskip("trl", reason="TRL is not installed (pip install -e '.[bench]')")
    from datasets import load_dataset
    from trl import DPOConfig, DPOTrainer, apply_chat_template

    store = Store(tmp_path / "c.db")
    sid = store.add_sample(Sample(run("3*7", "21", "21"), TOOLS), source="rollout")
    store.update_sample(sid, Sample(run("3*8", "24", "24"), TOOLS), author="ann", status="approved")
    export_file(store, tmp_path / "dpo.jsonl", "dpo")
    tok = _tools_template(smol_tokenizer)
    row = json.loads((tmp_path / "dpo.jsonl").read_text())
    text = apply_chat_template(row, tok, tools=row["tools"])
    assert text["prompt"].startswith("<|im_start|>system\nTOOLS calculator<|im_end|>") and text["prompt"].endswith("<|im_start|>assistant\n")
    assert text["chosen"] == '<tool_call>{"name": "calculator", "arguments": {"expression": "3*8"}}</tool_call><|im_end|>\n'
    assert text["rejected"] == '<tool_call>{"name": "calculator", "arguments": {"expression": "3*7"}}</tool_call><|im_end|>\n'
    dataset = load_dataset("json", data_files=str(tmp_path / "dpo.jsonl"), split="train")
    args = DPOConfig(output_dir=str(tmp_path / "out"), report_to=[], per_device_train_batch_size=1, max_length=512,
                     bf16=False, use_cpu=True, gradient_checkpointing=False)
    model, ref = copy.deepcopy(tiny_model), copy.deepcopy(tiny_model)  # the trainer patches models: not the shared fixture
    trainer = DPOTrainer(model=model, ref_model=ref, args=args, train_dataset=dataset, processing_class=tok)
    prepared = trainer.train_dataset[0]
    assert tok.decode(prepared["chosen_ids"]) == text["chosen"]
    assert tok.decode(prepared["rejected_ids"]) == text["rejected"]


def test_corpus_stats_shows_the_human_rubric_per_status(tmp_path):
    from typer.testing import CliRunner

    from tooltune.cli import app

    store = Store(tmp_path / "c.db")
    ids = store.add_samples([{"sample": Sample(run("3*8", "24", "24"), TOOLS), "lang": lang} for lang in ("en", "en", "zh", "en")])
    for sid, score in zip(ids, (5, 4, 0)):
        store.set_human_score(sid, score)
        store.set_status(sid, "approved")
    result = CliRunner().invoke(app, ["corpus-stats", "--db", str(tmp_path / "c.db")])
    assert result.exit_code == 0, result.output
    rubric = json.loads(result.output)["human_rubric"]
    assert set(rubric) == {"approved", "draft"}
    approved = rubric["approved"]
    assert (approved["samples"], approved["scored"], approved["mean"], approved["usable_rate"], approved["violations"]) == (3, 3, 3.0, 2 / 3, 1)
    assert approved["per_lang"]["en"]["histogram"] == {"0": 0, "1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert (rubric["draft"]["samples"], rubric["draft"]["scored"]) == (1, 0)
