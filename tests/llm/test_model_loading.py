"""Model names, adapters and the cached de-quantised weights (no real model weights loaded)."""

from pathlib import Path

import pytest
import torch

from tooltune.errors import TooltuneError
from tooltune.llm import embedded, make_llm, weights_cache
from tooltune.llm.transformers_backend import TransformersLLM


def test_model_names_resolve_to_base_and_adapter(tmp_path, monkeypatch):
    gguf = str(embedded.embedded_model_path())
    monkeypatch.setattr(embedded, "SHIPPED_ADAPTER", tmp_path / "smollm2-tools")
    assert embedded.resolve_model(None) == (gguf, None)  # nothing shipped yet: the plain base
    (tmp_path / "smollm2-tools").mkdir()
    (tmp_path / "smollm2-tools" / "adapter_config.json").write_text("{}")
    assert embedded.resolve_model("embedded") == (gguf, str(tmp_path / "smollm2-tools"))
    assert embedded.resolve_model(None) == (gguf, str(tmp_path / "smollm2-tools"))
    assert embedded.resolve_model("embedded-base") == (gguf, None)
    assert embedded.resolve_model("some/folder") == ("some/folder", None)


def test_make_llm_rejects_bad_combinations():
    with pytest.raises(TooltuneError, match="unknown backend 'vllm'"):
        make_llm(backend="vllm")
    with pytest.raises(TooltuneError, match="--adapter applies to local models"):
        make_llm("m", "http://localhost:1/v1", adapter="lora")


def fresh_tiny(tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(1)
    config = LlamaConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128,
                         vocab_size=len(tokenizer), max_position_embeddings=2048, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return LlamaForCausalLM(config).eval()


def test_a_lora_adapter_is_applied_and_merged(tmp_path, smol_tokenizer):
    from peft import LoraConfig, PeftModel, get_peft_model

    torch.manual_seed(2)
    lora = get_peft_model(fresh_tiny(smol_tokenizer), LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj", "down_proj"], init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter")
    ids = torch.tensor([smol_tokenizer("hello there, what time is it?")["input_ids"]])
    with torch.inference_mode():
        base_logits = fresh_tiny(smol_tokenizer)(ids).logits
        want = PeftModel.from_pretrained(fresh_tiny(smol_tokenizer), str(tmp_path / "adapter")).eval()(ids).logits
        llm = TransformersLLM(model_obj=fresh_tiny(smol_tokenizer), tokenizer=smol_tokenizer, adapter=str(tmp_path / "adapter"))
        got = llm.model(ids).logits
    assert not hasattr(llm.model, "peft_config")  # merged into plain weights
    assert torch.allclose(got, want, atol=1e-4)
    assert not torch.allclose(got, base_logits, atol=1e-2)


def test_an_adapter_folder_without_config_is_a_clear_error(tmp_path, smol_tokenizer):
    with pytest.raises(TooltuneError, match="no adapter_config.json"):
        TransformersLLM(model_obj=fresh_tiny(smol_tokenizer), tokenizer=smol_tokenizer, adapter=str(tmp_path))


def test_conversion_runs_once_per_gguf_content_and_is_atomic(tmp_path, monkeypatch):
    monkeypatch.setenv(weights_cache.CACHE_ENV, str(tmp_path / "cache"))
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF one")
    calls = []

    def convert(src: Path, out: Path) -> None:
        calls.append(src)
        (out / "config.json").write_text("{}")

    monkeypatch.setattr(weights_cache, "_convert", convert)
    first = weights_cache.fp32_folder(gguf)
    assert first == weights_cache.fp32_folder(gguf) and first.parent == tmp_path / "cache"
    assert len(calls) == 1
    gguf.write_bytes(b"GGUF two")  # new content, new key
    assert weights_cache.fp32_folder(gguf) != first and len(calls) == 2

    def crash(src: Path, out: Path) -> None:
        (out / "model.safetensors").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(weights_cache, "_convert", crash)
    gguf.write_bytes(b"GGUF three")
    with pytest.raises(KeyboardInterrupt):
        weights_cache.fp32_folder(gguf)
    assert not weights_cache.cached_folder(gguf).exists()
    assert len([p for p in (tmp_path / "cache").iterdir() if p.is_dir()]) == 2  # the two whole conversions, no leftovers
    monkeypatch.setenv(weights_cache.DISABLE_ENV, "1")
    assert weights_cache.fp32_folder(gguf) is None


def test_compared_models_share_one_backend(monkeypatch, tmp_path):
    from tooltune.eval import commands
    from tooltune.llm import llamacpp_backend

    monkeypatch.setattr(llamacpp_backend, "available", lambda: True)
    assert commands._common_backend(["embedded-base", "embedded-base"], None) == "llamacpp"
    assert commands._common_backend(["embedded-base", str(tmp_path)], None) == "transformers"  # a folder needs transformers


def test_server_options_do_not_reach_a_local_model(monkeypatch):
    from tooltune.llm import transformers_backend

    seen = {}

    class Fake:
        name = "fake"

        def __init__(self, model=None, adapter=None, *, prefix_cache=True, weights="fp32"):
            seen.update(model=model, adapter=adapter, prefix_cache=prefix_cache, weights=weights)

    monkeypatch.setattr(transformers_backend, "TransformersLLM", Fake)
    make_llm("embedded-base", backend="transformers", tool_role="tool", continue_mode="fold", prefix_cache=False, weights="int8")
    assert seen == {"model": str(embedded.embedded_model_path()), "adapter": None, "prefix_cache": False, "weights": "int8"}


def test_a_gguf_with_an_adapter_is_merged_once_then_loaded_from_the_cache(tmp_path, monkeypatch, smol_tokenizer):
    from peft import LoraConfig, get_peft_model

    from tooltune.llm import transformers_backend

    monkeypatch.setenv(weights_cache.CACHE_ENV, str(tmp_path / "cache"))
    torch.manual_seed(3)
    lora = get_peft_model(fresh_tiny(smol_tokenizer), LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "down_proj"], init_lora_weights=False))
    lora.save_pretrained(tmp_path / "adapter")
    gguf = tmp_path / "base.gguf"
    gguf.write_bytes(b"GGUF stand-in")
    loads = []

    def load_pretrained(path, dtype=None):
        loads.append(path)
        return fresh_tiny(smol_tokenizer), smol_tokenizer

    monkeypatch.setattr(transformers_backend, "load_pretrained", load_pretrained)
    monkeypatch.setattr(transformers_backend, "load_tokenizer", lambda path=None: smol_tokenizer)
    ids = torch.tensor([smol_tokenizer("hello there, what time is it?")["input_ids"]])
    with torch.inference_mode():
        want = TransformersLLM(model_obj=fresh_tiny(smol_tokenizer), tokenizer=smol_tokenizer, adapter=str(tmp_path / "adapter")).model(ids).logits
        first = transformers_backend._load_model(str(gguf), str(tmp_path / "adapter"), "fp32")[0](ids).logits
        second = transformers_backend._load_model.__wrapped__(str(gguf), str(tmp_path / "adapter"), "fp32")[0](ids).logits
    assert loads == [str(gguf)]  # merged once; the second load read the cached folder
    assert torch.equal(first, want) and torch.equal(second, want)
    assert len(list((tmp_path / "cache").glob("merged-v1-*"))) == 1
    torch.manual_seed(4)  # a retrained adapter (new bytes): merged again, into its own folder
    get_peft_model(fresh_tiny(smol_tokenizer), LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj"], init_lora_weights=False)).save_pretrained(tmp_path / "adapter")
    transformers_backend._load_model.__wrapped__(str(gguf), str(tmp_path / "adapter"), "fp32")
    assert len(loads) == 2 and len(list((tmp_path / "cache").glob("merged-v1-*"))) == 2
    monkeypatch.setattr(weights_cache, "MERGED_KEPT", 1)  # the next new merge keeps only itself
    torch.manual_seed(5)
    get_peft_model(fresh_tiny(smol_tokenizer), LoraConfig(r=4, lora_alpha=64, target_modules=["v_proj"], init_lora_weights=False)).save_pretrained(tmp_path / "adapter")
    newest = transformers_backend._merged_source(str(gguf), str(tmp_path / "adapter"))
    assert [str(p) for p in (tmp_path / "cache").glob("merged-v1-*")] == [newest]
