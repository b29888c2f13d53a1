"""Model names, adapters and the cached de-quantised weights (no real model weights loaded)."""

import copy
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
    monkeypatch.setattr(embedded, "V2_ADAPTER", tmp_path / "smollm2-tools-v2")
    with pytest.raises(TooltuneError, match="no v2 adapter in .*smollm2-tools-v2: reinstall"):
        embedded.resolve_model("embedded-v2")
    (tmp_path / "smollm2-tools-v2").mkdir()
    (tmp_path / "smollm2-tools-v2" / "adapter_config.json").write_text("{}")
    assert embedded.resolve_model("embedded-v2") == (gguf, str(tmp_path / "smollm2-tools-v2"))


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


def test_server_options_do_not_reach_a_local_model(tmp_path, tiny_model, smol_tokenizer):
    """Server-only options are dropped; the local ones (prefix cache, int8 weights) take effect on
    the real backend make_llm builds from a model folder."""
    tiny_model.save_pretrained(tmp_path / "tiny")
    smol_tokenizer.save_pretrained(tmp_path / "tiny")
    llm = make_llm(str(tmp_path / "tiny"), backend="transformers", tool_role="tool", continue_mode="fold", prefix_cache=False, weights="int8")
    assert isinstance(llm, TransformersLLM) and not llm.prefix_cache.enabled
    linears = [m for m in llm.model.modules() if type(m).__name__ in ("Linear", "Int8Linear")]
    assert {type(m).__name__ for m in linears} == {"Int8Linear"} and len(linears) == 2 * 7 + 1  # 7 per layer + the head


def test_a_gguf_with_an_adapter_is_merged_once_then_loaded_from_the_cache(tmp_path, monkeypatch, capfd, tiny_model, smol_tokenizer):
    """A real (tiny, f16) GGUF base and real adapters through the public loader: the merged
    weights equal base + adapter, the merge runs once per adapter content, and only the newest
    MERGED_KEPT merged folders stay."""
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    from tooltune.llm.loading import load_with_adapter, merged_source
    from tooltune.export.gguf_writer import write_gguf

    monkeypatch.setenv(weights_cache.CACHE_ENV, str(tmp_path / "cache"))
    gguf = write_gguf(copy.deepcopy(tiny_model), embedded.embedded_model_path(), tmp_path / "base.gguf", "f16", "")
    adapter = tmp_path / "adapter"

    def new_adapter(seed: int, targets: list[str]) -> None:
        torch.manual_seed(seed)
        get_peft_model(fresh_tiny(smol_tokenizer), LoraConfig(r=4, lora_alpha=64, target_modules=targets, init_lora_weights=False)).save_pretrained(adapter)

    def merges() -> int:
        return capfd.readouterr().err.count("merging the adapter adapter into base.gguf once")

    def merged_folders() -> list[str]:
        return [str(p) for p in (tmp_path / "cache").glob("merged-v1-*")]

    new_adapter(3, ["q_proj", "down_proj"])
    ids = torch.tensor([smol_tokenizer("hello there, what time is it?")["input_ids"]])
    with torch.inference_mode():
        base = AutoModelForCausalLM.from_pretrained(tmp_path, gguf_file="base.gguf", dtype=torch.float32).eval()
        want = PeftModel.from_pretrained(base, str(adapter)).eval()(ids).logits  # the adapter unmerged, as peft runs it
        first = load_with_adapter(str(gguf), str(adapter))[0].eval()(ids).logits
        assert merges() == 1 and len(merged_folders()) == 1
        second = load_with_adapter(str(gguf), str(adapter))[0].eval()(ids).logits
    assert merges() == 0  # the second load read the cached folder
    assert torch.allclose(first, want, atol=1e-4) and torch.equal(second, first)
    new_adapter(4, ["q_proj"])  # a retrained adapter (new bytes): merged again, into its own folder
    load_with_adapter(str(gguf), str(adapter))
    assert merges() == 1 and len(merged_folders()) == 2
    monkeypatch.setattr(weights_cache, "MERGED_KEPT", 1)  # the next new merge keeps only itself
    new_adapter(5, ["v_proj"])
    newest = merged_source(str(gguf), str(adapter))
    assert merges() == 1 and merged_folders() == [newest]
