"""Pairs as tree rows (train/pair_tree.py) score exactly what two rows per pair score — log-probs,
losses and gradients — with the prompt in the row once, however many pairs stand behind it."""

from __future__ import annotations

import pytest

from tooltune.data.pairs import StepPair
from tooltune.messages import Message, ToolCall
from tooltune.train.dataset import IGNORE, Example
from tooltune.train.dpo import DPO, DPOConfig, LogpModel, PairExample, build_pair_corpus, dpo_losses, pair_batch
from tooltune.train.model import tree_masks_supported
from tooltune.train.pair_tree import pair_trees, shared_prompt, tree_batch

from .test_dpo import first_step_pairs

I = IGNORE


def _pair(prompt, chosen, rejected):
    return PairExample(Example(prompt + chosen, [I] * len(prompt) + chosen), Example(prompt + rejected, [I] * len(prompt) + rejected))


def test_layout_of_pairs_behind_one_prompt_by_hand():
    a = _pair([1, 2, 3], [4, 5], [7, 8, 9])
    b = _pair([1, 2, 3], [4, 6], [9])
    c = _pair([1, 9, 3], [4], [6])  # another prompt: a row of its own
    assert shared_prompt(a.chosen, a.rejected) == 2  # the prompt less its last token, which opens each branch
    rows = pair_trees([a, c, b])
    assert [r.prefix for r in rows] == [[1, 2], [1, 9]] and [len(r.pairs) for r in rows] == [2, 1]
    tree = rows[0]
    assert tree.pairs[0] is a and tree.pairs[1] is b
    assert [br.input_ids for br in tree.branches] == [[3, 4, 5], [3, 7, 8, 9], [3, 4, 6], [3, 9]]
    t = tree_batch([tree], [a, b], pad_id=0)["trees"][0]
    assert t["prefix_ids"].tolist() == [[1, 2]]
    assert t["input_ids"].tolist() == [[3, 4, 5, 3, 7, 8, 9, 3, 4, 6, 3, 9]]
    assert t["position_ids"].tolist() == [[2, 3, 4, 2, 3, 4, 5, 2, 3, 4, 2, 3]]  # every branch goes on from the prompt
    assert t["labels"].tolist() == [[I, 4, 5, I, 7, 8, 9, I, 4, 6, I, 9]]  # 4 and 7 are predicted by the 3 of their own branch
    assert t["slots"].tolist() == [[0, 0, 0, 2, 2, 2, 2, 1, 1, 1, 3, 3]]  # chosen a, b -> 0, 1; rejected -> 2, 3
    mask = t["attention_mask"][0, 0].int().tolist()  # keys: the prefix (2), then the branches
    assert mask[4] == [1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]  # rejected a's 7 sees the prompt and its own branch only
    assert mask[11] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    # a group longer than max_length splits between pairs (a's branches: 7 tokens, b's: 5)
    assert [len(r.pairs) for r in pair_trees([a, b], max_length=2 + 7 + 4)] == [1, 1]
    assert [len(r.pairs) for r in pair_trees([a, b], max_length=2 + 7 + 5)] == [2]


def _many_pairs_per_prompt(samples):
    """Three pairs behind the first sample's first step (one chosen, three kinds of mistake) and
    one behind the second's: two prompts, four pairs."""
    s = samples[0]
    at = next(i for i, m in enumerate(s.messages) if m.role == "assistant")
    wrong = [Message("assistant", "I cannot help with that."), Message("assistant", None, [ToolCall("calculator", {"expression": "1+1"}, "c1")]),
             Message("assistant", "42")]
    return [StepPair(s.messages[:at], s.messages[at], w, s.tools) for w in wrong] + first_step_pairs(samples[1:2])


def test_many_pairs_behind_one_prompt_equal_separate_rows_in_logps_losses_and_gradients(make_tiny, smol_tokenizer, short_samples):
    import torch

    examples = build_pair_corpus(_many_pairs_per_prompt(short_samples), smol_tokenizer, "json").train
    rows = pair_trees(examples)
    assert [len(r.branches) for r in rows] == [6, 2]  # one prefix, 2K branches
    model = make_tiny()
    pad = smol_tokenizer.pad_token_id
    for i, ex in enumerate(examples):  # a reference that differs per pair, so the losses do too
        ex.ref_chosen, ex.ref_rejected = -30.0 - i, -35.0 + 2 * i
    results = []
    for batch in (tree_batch(rows, examples, pad), pair_batch(examples, pad, forked=False)):
        model.zero_grad()
        logps = LogpModel(model)(**{k: v for k, v in batch.items() if k != "real_tokens"})
        losses, _ = dpo_losses(logps, examples, beta=0.1, nll_weight=0.5)
        losses.sum().backward()
        results.append((logps.detach(), losses.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}))
    (tree_logps, tree_losses, tree_grads), (row_logps, row_losses, row_grads) = results
    assert tree_logps.tolist() == pytest.approx(row_logps.tolist(), abs=1e-4)
    assert tree_losses.tolist() == pytest.approx(row_losses.tolist(), abs=1e-5)
    assert tree_grads.keys() == row_grads.keys() and len(tree_grads) == len(list(model.parameters()))
    for name, grad in row_grads.items():
        assert torch.allclose(tree_grads[name], grad, atol=1e-5, rtol=1e-4), name
    prompt_once = tree_batch(rows, examples, pad)["real_tokens"]
    assert prompt_once == sum(len(r.prefix) + sum(map(len, r.branches)) for r in rows)
    assert prompt_once < 0.35 * pair_batch(examples, pad, forked=False)["real_tokens"]  # 2 prompts instead of 8
    # the DPO objective's rows: the tree rows when the model takes the mask
    assert DPO(DPOConfig(), []).rows(examples, DPOConfig(max_length=4096), True, False) == rows


def _two_ways(model, examples, pad_id):
    scorer = LogpModel(model)
    forked = scorer(**{k: v for k, v in pair_batch(examples, pad_id, forked=True).items() if k != "real_tokens"})
    rows = scorer(**{k: v for k, v in pair_batch(examples, pad_id, forked=False).items() if k != "real_tokens"})
    return forked, rows


def test_pair_trees_score_and_gradients_equal_two_rows(make_tiny, smol_tokenizer, short_samples):
    import torch

    pairs = first_step_pairs(short_samples[:4])
    examples = build_pair_corpus(pairs, smol_tokenizer, "json").train
    model = make_tiny()
    assert tree_masks_supported(model)
    forked, rows = _two_ways(model, examples, smol_tokenizer.pad_token_id)
    assert forked.shape == (2 * len(examples),)
    assert forked.tolist() == pytest.approx(rows.tolist(), abs=1e-4)
    weights = torch.arange(1.0, 1.0 + forked.numel())  # a loss that weighs every side differently
    grads = []
    for out in (forked, rows):
        model.zero_grad()
        (out * weights).sum().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    assert torch.allclose(grads[0], grads[1], atol=1e-5, rtol=1e-4)
    batch = pair_batch(examples, smol_tokenizer.pad_token_id)
    two = pair_batch(examples, smol_tokenizer.pad_token_id, forked=False)
    assert batch["real_tokens"] < 0.75 * two["real_tokens"]  # the prompt once, not twice


def test_a_pair_where_one_side_extends_the_other(make_tiny, smol_tokenizer):
    a = Example([5, 6, 7, 8], [IGNORE, 6, 7, 8])
    b = Example([5, 6, 7, 8, 9, 10], [IGNORE, 6, 7, 8, 9, 10])
    examples = [PairExample(a, b), PairExample(b, a)]
    assert [r.prefix for r in pair_trees(examples)] == [[]]  # nothing untrained to share but the first token
    forked, rows = _two_ways(make_tiny(), examples, smol_tokenizer.pad_token_id)
    assert forked.tolist() == pytest.approx(rows.tolist(), abs=1e-4)
