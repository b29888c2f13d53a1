"""Teacher-forced scoring (eval/forced.py): tree rows give every reference token the argmax a
plain forward pass gives it, and the verdicts follow from those argmaxes."""

from __future__ import annotations

import pytest

from tooltune.eval.forced import prepare, score_forced, summarize_forced
from tooltune.formats.chat import ChatRenderer
from tooltune.messages import Message, Sample, ToolCall
from tooltune.train.dataset import IGNORE

TOOLS = [{"type": "function", "function": {"name": "get_time", "description": "Current time in a time zone.",
                                           "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]}}},
         {"type": "function", "function": {"name": "git_status", "description": "Shows the working tree status.",
                                           "parameters": {"type": "object", "properties": {"repo_path": {"type": "string"}}, "required": ["repo_path"]}}}]


def _samples():
    calls = [("What time is it in Tokyo?", ToolCall("get_time", {"timezone": "Asia/Tokyo"}, "c1")),
             ("Status of /home/me/blog please", ToolCall("git_status", {"repo_path": "/home/me/blog"}, "c2"))]
    out = [Sample([Message("user", q), Message("assistant", None, [c]), Message("tool", "ok", tool_call_id=c.id, name=c.name),
                   Message("assistant", "Done.")], TOOLS) for q, c in calls]
    out.append(Sample([Message("user", "What is a time zone?"), Message("assistant", "A region that keeps the same time.")], TOOLS))
    return out


@pytest.fixture(scope="module")
def lively_model(tiny_llama, smol_tokenizer):
    """A tiny random Llama trained a few steps on the samples: it gets some reference tokens
    right and some wrong, so a position off by one changes what agrees."""
    import torch

    from tooltune.train.dataset import build_corpus
    from tooltune.train.loss import mean_loss
    from tooltune.train.packing import collate

    model = tiny_llama(4096).train()
    examples = build_corpus(_samples(), smol_tokenizer, "json", max_length=4096).train
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(12):
        opt.zero_grad()
        mean_loss(model, collate([[e] for e in examples], smol_tokenizer.pad_token_id)).backward()
        opt.step()
    return model.eval()


def _plain_argmax(model, ids):
    import torch

    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0].argmax(-1).tolist()


def test_tree_scoring_agrees_with_a_plain_pass_token_by_token(lively_model, smol_tokenizer):
    tiny_model = lively_model
    samples = _samples()
    results = score_forced(tiny_model, smol_tokenizer, samples, "json")
    renderer = ChatRenderer(smol_tokenizer)
    for i, (sample, got) in enumerate(zip(samples, results)):
        f = prepare(sample, smol_tokenizer, renderer, "json", i)
        ids, labels = f.example.input_ids, f.example.labels
        guess = _plain_argmax(tiny_model, ids)
        pos = [j for j in range(1, len(ids)) if labels[j] != IGNORE]
        hits = [guess[j - 1] == labels[j] for j in pos]
        assert (got["agree"], got["tokens"]) == (sum(hits), len(pos))
        assert 0 < sum(hits) < len(pos) or i == 2  # the model gets some tokens right, not all: the check can see a shift
        assert got["exact"] == all(hits)
        k = next((n for n, hit in enumerate(hits) if not hit), None)  # the first token greedy decoding gets wrong
        assert got["miss"] == (None if k is None else {"before": smol_tokenizer.decode(labels[pos[0]:pos[k]]), "want": smol_tokenizer.decode([labels[pos[k]]]),
                                                      "got": smol_tokenizer.decode([guess[pos[k] - 1]])})
        assert got["called"] == (guess[pos[0] - 1] == smol_tokenizer("<tool_call>", add_special_tokens=False)["input_ids"][0])
        assert got["expect_call"] == (i < 2) and got["tools"] == ([sample.messages[1].tool_calls[0].name] if i < 2 else [])
    assert results[0]["tokens"] > 10  # the whole first turn is scored: the call and the end of the turn
    assert prepare(samples[2], smol_tokenizer, renderer, "json", 2).name_tokens == 0


def test_name_tokens_end_at_the_tool_name(smol_tokenizer):
    f = prepare(_samples()[0], smol_tokenizer, ChatRenderer(smol_tokenizer), "json", 0)
    first = next(j for j, lab in enumerate(f.example.labels) if lab != IGNORE)
    text = smol_tokenizer.decode(f.example.input_ids[first:first + f.name_tokens])
    assert text.startswith("<tool_call>") and text.rstrip(",").endswith('"get_time"')  # the quote may share a token with the comma


def test_summary_rates():
    rs = [{"exact": True, "name": True, "called": True, "expect_call": True, "tools": ["a"]},
          {"exact": False, "name": True, "called": True, "expect_call": True, "tools": ["b"]},
          {"exact": False, "name": False, "called": True, "expect_call": False, "tools": []},
          {"exact": False, "name": False, "called": False, "expect_call": False, "tools": []}]
    s = summarize_forced(rs)
    assert (s["args_em"], s["tool_name_em"], s["no_call_accuracy"]) == (0.5, 1.0, 0.5)
    assert s["call_precision"] == pytest.approx(2 / 3) and s["per_tool"] == {"a": 1.0, "b": 0.0}
