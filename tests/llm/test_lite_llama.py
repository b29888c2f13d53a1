"""The transformers-free Llama (`tooltune.llm.lite_llama`) must give bitwise the logits and KV
cache `LlamaForCausalLM` gives, hence the same greedy text, and must refuse what it cannot copy."""

import json

import pytest
import torch
from transformers import DynamicCache

from tooltune.agent import Agent
from tooltune.llm import lite_llama
from tooltune.llm.lite_llama import LiteLlama, load_folder
from tooltune.llm.prefix_cache import cache_kw
from tooltune.llm.transformers_backend import TransformersLLM
from tooltune.messages import Message
from tooltune.tools import builtin_registry


@pytest.fixture(scope="module")
def folder(tiny_model, smol_tokenizer, tmp_path_factory):
    """The tiny random Llama saved as a model folder (fp32 safetensors, config, tokenizer)."""
    path = tmp_path_factory.mktemp("tiny-llama")
    tiny_model.save_pretrained(path)
    smol_tokenizer.save_pretrained(path)
    return path


def forward(model, ids, split):
    """Logits of the prompt's last token (prefilling `split` tokens first when > 0), the next
    token's logits, and the cache."""
    cache = DynamicCache(config=model.config)
    with torch.inference_mode():
        if split:
            model(input_ids=torch.tensor([ids[:split]]), **cache_kw(model, cache), use_cache=True, logits_to_keep=1)
        first = model(input_ids=torch.tensor([ids[split:]]), **cache_kw(model, cache), use_cache=True, logits_to_keep=1).logits
        token = int(first[0, -1].argmax())
        second = model(input_ids=torch.tensor([[token]]), **cache_kw(model, cache), use_cache=True, logits_to_keep=1).logits
    return first, second, cache


def assert_same_forward(lite, reference, ids):
    for split in (0, 7, len(ids) - 1):  # prefill from empty, a tail after a cached prefix, one token
        mine, theirs = forward(lite, ids, split), forward(reference, ids, split)
        assert torch.equal(mine[0], theirs[0]) and torch.equal(mine[1], theirs[1]), f"logits differ (split {split})"
        for a, b in zip(mine[2].layers, theirs[2].layers, strict=True):
            assert torch.equal(a.keys, b.keys) and torch.equal(a.values, b.values)


@pytest.fixture(scope="module")
def reference(folder):
    """transformers' own model from the same folder, as `tooltune run` loaded it before. (The
    in-memory `tiny_model` differs from it in the last bit of some logits, so it is not used.)"""
    return TransformersLLM(str(folder), prefix_cache=False)


def test_logits_and_cache_are_bitwise_those_of_transformers(folder, reference, smol_tokenizer):
    lite, tokenizer = load_folder(folder, folder)
    assert isinstance(lite, LiteLlama)
    ids = smol_tokenizer("<|im_start|>user\nWhat is 2 + 2? Use the calculator.<|im_end|>\n", add_special_tokens=False)["input_ids"]
    assert tokenizer("<|im_start|>user\nWhat is 2 + 2? Use the calculator.<|im_end|>\n", add_special_tokens=False)["input_ids"] == ids
    assert_same_forward(lite, reference.model, ids)


def test_the_agent_gets_the_same_greedy_text(folder, reference):
    lite = TransformersLLM(str(folder), lite=True)
    assert isinstance(lite.model, LiteLlama) and lite.prefix_cache.enabled
    agent = Agent(lite, builtin_registry(), "react", max_tokens=12)
    history = [Message("user", "What is 3*7?")]
    for observation in ("21", "done"):
        request = agent.request(history)
        assert lite.complete(request).text == reference.complete(request).text
        history += [Message("assistant", reference.complete(request).text), Message("user", f"Observation: {observation}")]
    assert lite.prefix_cache.hits > 0  # the second step reused the first from memory
    requests = [agent.request([Message("user", q)]) for q in ("hi", "What time is it?")]
    assert [c.text for c in lite.complete_batch(requests)] == [reference.complete(r).text for r in requests]


@pytest.mark.parametrize("change", [
    {"rope_scaling": {"rope_type": "linear", "factor": 2.0}}, {"rope_parameters": {"rope_theta": 1e4, "rope_type": "linear"}},
    {"attention_bias": True}, {"mlp_bias": True}, {"hidden_act": "gelu"}, {"dtype": "bfloat16"}, {"sliding_window": 64},
    {"architectures": ["MistralForCausalLM"]}, {"model_type": "mistral"}, {"pretraining_tp": 2},
])
def test_what_it_cannot_copy_is_left_to_transformers(folder, tmp_path, change):
    config = json.loads((folder / "config.json").read_text())
    assert lite_llama.supported(config)
    changed = {**config, **change}
    assert not lite_llama.supported(changed)
    for f in folder.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "config.json").write_text(json.dumps(changed))
    assert load_folder(tmp_path, tmp_path) is None


def test_another_tokenizer_class_or_the_switch_falls_back(folder, tmp_path, monkeypatch):
    for f in folder.iterdir():
        (tmp_path / f.name).write_bytes(f.read_bytes())
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({**config, "tokenizer_class": "LlamaTokenizer"}))
    assert load_folder(tmp_path, tmp_path) is None
    assert load_folder(folder, folder) is not None
    monkeypatch.setenv(lite_llama.DISABLE_ENV, "1")
    assert load_folder(folder, folder) is None
    assert hasattr(TransformersLLM(str(folder), lite=True).model, "generate")  # transformers' own model


@pytest.mark.slow
def test_the_embedded_model_is_bitwise_the_same_and_answers_the_same():
    """The real model (SmolLM2 + shipped adapter, fp32): logits, cache and agent text."""
    lite = TransformersLLM(None, lite=True)
    reference = TransformersLLM(None)
    assert isinstance(lite.model, LiteLlama)
    agent = Agent(lite, builtin_registry(), "json", max_tokens=48)
    ids = lite.prompt_ids(agent.request([Message("user", "What is 23 * 47 + 12? Use the calculator.")]))
    assert_same_forward(lite.model, reference.model, ids)
    history = [Message("user", "What is 23 * 47 + 12? Use the calculator.")]
    for observation in ("1093", "The result is 1093."):
        request = agent.request(history)
        request.stop = []
        mine, theirs = lite.complete(request), reference.complete(request)
        assert mine.text == theirs.text and mine.completion_tokens == theirs.completion_tokens
        history += [Message("assistant", theirs.text), Message("user", f"Observation: {observation}")]
