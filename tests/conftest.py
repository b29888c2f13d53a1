"""Shared fixtures: the embedded model's tokenizer, and tiny random models built from a config."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def smol_tokenizer():
    """The real SmolLM2 tokenizer (from the embedded GGUF; a few seconds, no model weights)."""
    from tooltune.llm.loading import load_tokenizer

    return load_tokenizer()


@pytest.fixture(scope="session")
def tiny_llama(smol_tokenizer):
    """Builds a randomly initialised 2-layer Llama with the SmolLM2 vocabulary and the given
    context length (`max_position_embeddings`): fast, deterministic (seed 0), a new one per call."""

    def build(context: int = 2048):
        import torch
        from transformers import LlamaConfig, LlamaForCausalLM

        torch.manual_seed(0)
        config = LlamaConfig(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128,
            vocab_size=len(smol_tokenizer), max_position_embeddings=context,
            eos_token_id=smol_tokenizer.eos_token_id, pad_token_id=smol_tokenizer.pad_token_id,
        )
        return LlamaForCausalLM(config).eval()

    return build


@pytest.fixture(scope="session")
def tiny_model(tiny_llama):
    """A randomly initialised 2-layer Llama with the SmolLM2 vocabulary: fast, deterministic."""
    return tiny_llama(2048)
