"""A pair as one row (train/fork.py) scores exactly what two rows score — log-probs and gradients —
with the shared prompt in the row once."""

from __future__ import annotations

import pytest

from tooltune.train.dataset import IGNORE, Example
from tooltune.train.dpo import LogpModel, PairExample, build_pair_corpus, pair_batch
from tooltune.train.fork import fork, fork_batch, forks_supported

from .test_dpo import first_step_pairs


def test_layout_of_a_fork_by_hand():
    chosen = Example([1, 2, 3, 4, 5], [IGNORE, IGNORE, 3, 4, 5])  # the step's tokens 3, 4, 5 are labelled
    rejected = Example([1, 2, 3, 7, 8, 9], [IGNORE, IGNORE, 3, 7, 8, 9])
    f = fork(chosen, rejected)
    assert f.ids == [1, 2, 3, 4, 5, 7, 8, 9]
    assert f.positions == [0, 1, 2, 3, 4, 3, 4, 5]
    assert (f.shared, f.rejected_start) == (3, 5)
    # The shared labelled token 3 counts for both sides; rejected's 7 is predicted from row index
    # 2 (the shared 3), not from 5, the chosen tail's end.
    assert f.targets == [(1, 3, 0), (2, 4, 0), (3, 5, 0), (1, 3, 1), (2, 7, 1), (5, 8, 1), (6, 9, 1)]
    mask = fork_batch([f], pad_id=0, pad_to_multiple=1)["attention_mask"][0, 0]
    assert mask[5].tolist() == [True, True, True, False, False, True, False, False]  # 7 sees 1 2 3 and itself
    assert mask[7].tolist() == [True, True, True, False, False, True, True, True]
    assert mask[4].tolist() == [True, True, True, True, True, False, False, False]  # chosen: plain causal


def _two_ways(model, examples, pad_id):
    scorer = LogpModel(model)
    forked = scorer(**{k: v for k, v in pair_batch(examples, pad_id, forked=True).items() if k != "real_tokens"})
    rows = scorer(**{k: v for k, v in pair_batch(examples, pad_id, forked=False).items() if k != "real_tokens"})
    return forked, rows


def test_fork_scores_and_gradients_equal_two_rows(make_tiny, smol_tokenizer, short_samples):
    import torch

    pairs = first_step_pairs(short_samples[:4])
    examples = build_pair_corpus(pairs, smol_tokenizer, "json").train
    model = make_tiny()
    assert forks_supported(model)
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


def test_fork_of_a_pair_where_one_side_extends_the_other(make_tiny, smol_tokenizer):
    a = Example([5, 6, 7, 8], [IGNORE, 6, 7, 8])
    b = Example([5, 6, 7, 8, 9, 10], [IGNORE, 6, 7, 8, 9, 10])
    examples = [PairExample(a, b), PairExample(b, a)]
    forked, rows = _two_ways(make_tiny(), examples, smol_tokenizer.pad_token_id)
    assert forked.tolist() == pytest.approx(rows.tolist(), abs=1e-4)
