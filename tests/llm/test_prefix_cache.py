"""Prefix KV-cache reuse and batched generation in TransformersLLM, on a tiny random model.

Reuse must never change what greedy decoding produces; batched rows must each get their own
settings. The tiny model never emits its end token within these budgets, so completion lengths
are exactly the budgets."""

import threading

import pytest
import torch

from tooltune.agent import Agent
from tooltune.llm.prefix_cache import common_prefix, returned_cache
from tooltune.llm.transformers_backend import TransformersLLM
from tooltune.messages import Message
from tooltune.tools import builtin_registry

QUESTIONS = ("What time is it?", "Compute 2+2 please, thanks a lot", "hi")


@pytest.fixture()
def pair(tiny_model, smol_tokenizer):
    on = TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer)
    off = TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, prefix_cache=False)
    return on, off


def requests_for(llm, questions=QUESTIONS, max_tokens=12, fmt="json"):
    agent = Agent(llm, builtin_registry(), fmt, max_tokens=max_tokens)
    return [agent.request([Message("user", q)]) for q in questions]


def test_reuse_gives_the_same_greedy_tokens_and_skips_the_shared_prefix(pair):
    on, off = pair
    reqs = requests_for(on)
    plain = [off.complete(r) for r in reqs]
    reused = [on.complete(r) for r in reqs]
    assert [c.text for c in reused] == [c.text for c in plain]
    assert [c.prompt_tokens for c in reused] == [len(on.prompt_ids(r)) for r in reqs]
    ids = [on.prompt_ids(r) for r in reqs]
    shared = common_prefix(ids[0], ids[1]) + common_prefix(ids[1], ids[2])
    assert on.prefix_cache.hits == shared  # the 2nd and 3rd prompts prefilled only their own tail
    assert off.prefix_cache.hits == 0


def test_a_growing_conversation_reuses_the_previous_step(pair):
    on, off = pair
    agent = Agent(on, builtin_registry(), "react", max_tokens=10)
    history = [Message("user", "What is 3*7?")]
    first = on.complete(agent.request(history))
    history += [Message("assistant", first.text), Message("user", "Observation: 21")]
    second_request = agent.request(history)
    before = on.prefix_cache.hits
    second = on.complete(second_request)
    assert second.text == off.complete(second_request).text
    assert on.prefix_cache.hits - before > first.prompt_tokens - 5  # almost the whole first prompt was reused


def test_batched_rows_match_one_by_one_with_and_without_reuse(pair):
    on, off = pair
    reqs = requests_for(on)
    single = [off.complete(r).text for r in reqs]
    assert [c.text for c in off.complete_batch(reqs)] == single
    assert [c.text for c in on.complete_batch(reqs)] == single
    assert [c.text for c in on.complete_batch(reqs)] == single  # second round: the shared prefix is cached
    for r in reqs:  # each row's cache, padding removed, holds what a plain prefill of its prompt gives
        ids = on.prompt_ids(r)
        cache, n = on.prefix_cache.lookup(ids)
        assert n == len(ids) - 1
        with torch.inference_mode():
            fresh = returned_cache(on.model(input_ids=torch.tensor([ids[:n]]), use_cache=True))
        for mine, theirs in zip(cache.layers, fresh.layers):
            assert torch.allclose(mine.keys, theirs.keys, atol=1e-4) and torch.allclose(mine.values, theirs.values, atol=1e-4)


def test_each_batched_request_keeps_its_own_budget_stop_and_prompt_count(pair):
    on, off = pair
    a, b, c = requests_for(on)
    b.max_tokens = 5
    reference = off.complete(c).text
    c.stop = [reference[len(reference) // 2 :][:4]]  # a stop string inside c's own output
    results = on.complete_batch([a, b, c])
    assert [r.completion_tokens for r in results[:2]] == [12, 5]
    assert results[0].text == off.complete(a).text and results[1].text == off.complete(b).text
    assert results[2].text == reference[: reference.find(c.stop[0])] and results[2].finish_reason == "stop"
    assert results[0].finish_reason == "length"
    assert [r.prompt_tokens for r in results] == [len(on.prompt_ids(r)) for r in (a, b, c)]


def test_batched_cancel_and_temperature_stay_with_their_request(pair):
    on, off = pair
    a, b, c = requests_for(on)
    a.temperature = 1.5  # sampled; listed first so a shared setting would leak into the others
    cancelled = threading.Event()
    cancelled.set()
    b.cancel = cancelled
    results = on.complete_batch([a, b, c])
    assert results[1].completion_tokens == 0  # cancelled before it started: nothing generated
    assert results[2].text == off.complete(c).text and results[2].completion_tokens == 12


def test_batching_leaves_the_shared_tokenizer_alone(pair, smol_tokenizer):
    on, _ = pair
    original = smol_tokenizer.padding_side
    smol_tokenizer.padding_side = "right"
    try:
        on.complete_batch(requests_for(on))
        assert smol_tokenizer.padding_side == "right"
    finally:
        smol_tokenizer.padding_side = original


def test_cancel_mid_generation_leaves_a_sound_cache(pair):
    on, off = pair
    reqs = requests_for(on, max_tokens=40)
    stop_now = threading.Event()
    reqs[0].cancel = stop_now
    pieces = []

    def on_text(text):
        pieces.append(text)
        if len(pieces) == 3:
            stop_now.set()

    cut = on.complete(reqs[0], on_text=on_text)
    assert cut.completion_tokens < 40
    assert on.complete(reqs[1]).text == off.complete(reqs[1]).text
    reqs[0].cancel = None
    assert on.complete(reqs[0]).text == off.complete(reqs[0]).text


@pytest.mark.slow
def test_reuse_is_token_for_token_identical_on_the_embedded_model():
    """The real model, fp32: a growing ReAct conversation and a batch, reuse on vs off."""
    on = TransformersLLM(None)
    off = TransformersLLM(model_obj=on.model, tokenizer=on.tokenizer, prefix_cache=False)
    agent = Agent(on, builtin_registry(), "react", max_tokens=48)
    history = [Message("user", "What is 23 * 47 + 12? Use the calculator.")]
    for observation in ("1093", "The result is 1093."):
        req = agent.request(history)
        req.stop = []  # compare all 48 tokens, not only what precedes a stop string
        plain, reused = off.complete(req), on.complete(req)
        assert reused.text == plain.text and reused.completion_tokens == plain.completion_tokens
        history += [Message("assistant", plain.text), Message("user", f"Observation: {observation}")]
    assert on.prefix_cache.hits > 0
    reqs = requests_for(on, max_tokens=24, fmt="react")
    assert [c.text for c in on.complete_batch(reqs)] == [off.complete(r).text for r in reqs]


def test_requests_of_different_agents_share_one_generate_call(pair, monkeypatch):
    """Each agent has its own cancel flag; an eval's items (one agent each) must still batch, and
    a flag set mid-batch stops only its own row."""
    import tooltune.llm.batch as batch

    on, off = pair
    agents = [Agent(on, builtin_registry(), "json", max_tokens=12) for _ in QUESTIONS]
    reqs = [a.request([Message("user", q)]) for a, q in zip(agents, QUESTIONS)]
    calls = []
    real = batch.generate_group
    monkeypatch.setattr(batch, "generate_group", lambda llm, rs: calls.append(len(rs)) or real(llm, rs))
    results = on.complete_batch(reqs)
    assert calls == [3]
    assert [r.text for r in results] == [off.complete(r).text for r in reqs]
    stop_second = threading.Event()
    reqs[1].cancel = stop_second
    seen = []
    original = on.model.forward

    def forward(*args, **kwargs):
        seen.append(1)
        if len(seen) == 4:  # a few tokens in: cancel row 1 only
            stop_second.set()
        return original(*args, **kwargs)

    monkeypatch.setattr(on.model, "forward", forward)
    results = on.complete_batch(reqs)
    assert results[1].completion_tokens < 12 and [results[0].completion_tokens, results[2].completion_tokens] == [12, 12]


def test_the_cache_keyword_of_a_peft_wrapped_model_is_its_base_models(tiny_llama):
    """A PEFT wrapper's forward(**kwargs) names no cache keyword; the name comes from the model it
    wraps, so the adapter-loaded model gets the same keyword as the plain one (no rename warning)."""
    import inspect

    from peft import LoraConfig, get_peft_model

    from tooltune.llm.prefix_cache import cache_kw

    base = tiny_llama()
    want = "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"
    wrapped = get_peft_model(tiny_llama(), LoraConfig(r=2, target_modules=["q_proj"]))
    assert list(cache_kw(base, None)) == [want]
    assert list(cache_kw(wrapped, None)) == [want]
