"""Tree rows (train/tree.py) train exactly what plain rows train: the same summed token loss, the
same trained-token count and the same gradients, parameter by parameter, with the shared prompt
computed once."""

from __future__ import annotations

import pytest

from tooltune.lang import dialogue_lang
from tooltune.messages import Sample
from tooltune.train.dataset import IGNORE, Example, build_corpus
from tooltune.train.loss import LossModel
from tooltune.train.packing import collate, collate_trees
from tooltune.train.tree import TreeRow, samples_in, tree_rows


def _same_tools(samples: list[Sample]) -> list[Sample]:
    """The samples over one tool list (the union of theirs, in one order): one shared prompt."""
    tools = list({s_tool["function"]["name"]: s_tool for s in samples for s_tool in s.tools}.values())
    return [Sample(s.messages, tools) for s in samples]


@pytest.fixture
def shared_examples(smol_tokenizer, short_samples):
    english = [s for s in short_samples if dialogue_lang(s.messages) == "en"][:6]  # one language: one system prompt
    return build_corpus(_same_tools(english), smol_tokenizer, "json", max_length=4096).train


def test_examples_over_one_tool_list_share_their_system_prefix(shared_examples, smol_tokenizer):
    prefixes = {tuple(ex.input_ids[: ex.prefix]) for ex in shared_examples}
    assert len(prefixes) == 1
    n = shared_examples[0].prefix
    assert n > 100  # the tool list is most of the prompt
    text = smol_tokenizer.decode(shared_examples[0].input_ids[:n])
    assert text.startswith("<|im_start|>system") and text.endswith("<|im_end|>\n")
    assert all(ex.labels[n] == IGNORE for ex in shared_examples)  # each continuation opens untrained (the user turn)


def test_tree_layout_by_hand():
    a = Example([1, 2, 3, 4, 5], [IGNORE, IGNORE, IGNORE, 4, 5], prefix=2)
    b = Example([1, 2, 6, 7], [IGNORE, IGNORE, IGNORE, 7], prefix=2)
    c = Example([9, 8, 7], [IGNORE, 8, 7], prefix=0)  # no prefix: a row of its own
    rows = tree_rows([a, b, c], max_length=16)
    assert [r for r in rows if len(r.branches) == 1] == [TreeRow([], [c])]
    tree = next(r for r in rows if len(r.branches) == 2)
    assert tree.prefix == [1, 2] and [br.input_ids for br in tree.branches] == [[3, 4, 5], [6, 7]]
    t = collate_trees([tree], pad_id=0)
    assert t["prefix_ids"].tolist() == [[1, 2]]
    assert t["input_ids"].tolist() == [[3, 4, 5, 6, 7]]
    assert t["position_ids"].tolist() == [[2, 3, 4, 2, 3]]  # each continuation goes on from the prefix
    assert t["labels"].tolist() == [[IGNORE, 4, 5, IGNORE, 7]]
    mask = t["attention_mask"][0, 0].int().tolist()  # keys: the prefix (2), then the continuations
    assert mask[0] == [1, 1, 1, 0, 0, 0, 0]
    assert mask[2] == [1, 1, 1, 1, 1, 0, 0]
    assert mask[3] == [1, 1, 0, 0, 0, 1, 0]  # b's first token sees the prefix and itself, not a
    assert mask[4] == [1, 1, 0, 0, 0, 1, 1]
    assert t["real_tokens"] == 7
    plain = collate_trees([TreeRow([], [c])], pad_id=0)
    assert "prefix_ids" not in plain and plain["input_ids"].tolist() == [[9, 8, 7, 0, 0, 0, 0, 0]]


def test_rows_respect_max_length_and_keep_every_sample(shared_examples):
    longest = max(len(ex) for ex in shared_examples)
    rows = tree_rows(shared_examples, max_length=longest + 150)
    assert samples_in(rows) == len(shared_examples)
    assert all(len(r) <= longest + 150 for r in rows)
    assert sorted(b.source for r in rows for b in r.branches) == sorted(ex.source for ex in shared_examples)


def _loss_and_grads(model, batch):
    import torch

    model.zero_grad()
    total, count = LossModel(model)(**{k: v for k, v in batch.items() if k != "real_tokens"})
    total.backward()
    return float(total.detach()), int(count), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_tree_loss_and_gradients_equal_plain_rows(make_tiny, smol_tokenizer, shared_examples):
    import torch

    model = make_tiny()
    pad = smol_tokenizer.pad_token_id
    rows = tree_rows(shared_examples, max_length=4096)
    assert len(rows) == 1 and len(rows[0].branches) == len(shared_examples)
    tree = _loss_and_grads(model, collate(rows, pad))
    assert tree[0] > 0 and len(tree[2]) == len([p for p in model.parameters()])
    plain = _loss_and_grads(model, collate([[ex] for ex in shared_examples], pad))
    assert tree[1] == plain[1] == sum(ex.n_trained for ex in shared_examples) - 0
    assert tree[0] == pytest.approx(plain[0], rel=1e-5)
    assert tree[2].keys() == plain[2].keys()
    for name, grad in plain[2].items():
        assert torch.allclose(tree[2][name], grad, atol=1e-5, rtol=1e-4), name
    assert collate(rows, pad)["real_tokens"] < 0.5 * sum(len(ex) for ex in shared_examples)


def test_a_prefix_without_gradient_keeps_the_loss_and_drops_only_the_prefix_path(make_tiny, smol_tokenizer, shared_examples):
    model = make_tiny()
    pad = smol_tokenizer.pad_token_id
    batch = collate(tree_rows(shared_examples, max_length=4096), pad)
    exact = _loss_and_grads(model, batch)
    model.zero_grad()
    total, count = LossModel(model, prefix_grad=False)(**{k: v for k, v in batch.items() if k != "real_tokens"})
    total.backward()
    frozen = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    assert float(total.detach()) == pytest.approx(exact[0], rel=1e-6) and int(count) == exact[1]
    # the gradient that reached the layers through the prompt's keys and values is missing
    import torch

    key = "model.layers.0.self_attn.k_proj.weight"
    assert not torch.allclose(frozen[key], exact[2][key], atol=1e-6)
    assert float(frozen[key].norm()) < float(exact[2][key].norm())
