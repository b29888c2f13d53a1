"""Int8 weights (`--weights int8`): every linear layer replaced, close to fp32, same greedy text
with and without prefix reuse, and clear errors where it does not apply."""

import pytest
import torch

from tooltune.errors import TooltuneError
from tooltune.llm import make_llm
from tooltune.agent import Agent
from tooltune.llm.int8 import quantize_int8
from tooltune.llm.transformers_backend import TransformersLLM
from tooltune.messages import Message
from tooltune.tools import builtin_registry

from tests.llm.test_model_loading import fresh_tiny


def test_every_linear_layer_becomes_int8_and_stays_close_to_fp32(smol_tokenizer):
    model = fresh_tiny(smol_tokenizer)
    ids = torch.tensor([smol_tokenizer("The weather in Paris is")["input_ids"]])
    with torch.inference_mode():
        want = model(ids).logits
        quantize_int8(model)
        got = model(ids).logits
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert sum(type(m).__name__ == "Int8Linear" for m in model.modules()) == 2 * 7 + 1  # 2 layers x 7 + the head
    assert model.model.embed_tokens.weight.dtype == torch.float32  # the lookup table is untouched
    error = (got - want).abs().max() / want.abs().max()
    assert error < 0.02, f"relative error {error:.4f}"


def test_int8_rows_and_scales_reproduce_the_weights(smol_tokenizer):
    model = fresh_tiny(smol_tokenizer)
    weight = model.model.layers[0].mlp.down_proj.weight.detach().clone()
    quantize_int8(model)
    layer = model.model.layers[0].mlp.down_proj
    rebuilt = layer.qweight.float() * layer.scale.float()[:, None]
    assert layer.qweight.dtype == torch.int8 and layer.qweight.abs().max().item() == 127
    assert (rebuilt - weight).abs().max() <= weight.abs().amax(dim=1).max() / 127  # within one step per row


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_a_prefill_runs_its_product_in_the_dtype_this_cpu_does_fastest(smol_tokenizer, monkeypatch, dtype):
    """A prefill (64+ rows) multiplies the de-quantised rows in `prefill_dtype()`: fp32 gives the
    de-quantised product to float precision, bf16 only to bf16's."""
    import tooltune.llm.int8 as int8

    monkeypatch.setattr(int8, "prefill_dtype", lambda: dtype)
    layer = quantize_int8(fresh_tiny(smol_tokenizer)).model.layers[0].mlp.down_proj
    x = torch.randn(1, 80, layer.in_features)
    exact = x @ (layer.qweight.float() * layer.scale.float()[:, None]).T
    error = float((layer(x) - exact).abs().max() / exact.abs().max())
    assert (error < 1e-5) == (dtype == torch.float32), error


def test_greedy_text_is_the_same_with_and_without_prefix_reuse(smol_tokenizer):
    model = quantize_int8(fresh_tiny(smol_tokenizer))
    fresh = TransformersLLM(model_obj=model, tokenizer=smol_tokenizer, prefix_cache=False)
    reuse = TransformersLLM(model_obj=model, tokenizer=smol_tokenizer)
    agent = Agent(reuse, builtin_registry(), "json", max_tokens=12)
    requests = [agent.request([Message("user", q)]) for q in ("What time is it?", "Compute 2+2 please", "hi")]
    plain, reused = [fresh.complete(r) for r in requests], [reuse.complete(r) for r in requests]
    assert [c.text for c in reused] == [c.text for c in plain]
    assert [c.completion_tokens for c in reused] == [12, 12, 12]
    assert reuse.prefix_cache.hits > 0


def test_int8_is_refused_where_it_does_not_apply():
    with pytest.raises(TooltuneError, match="unknown weights 'int4'"):
        make_llm(weights="int4")
    with pytest.raises(TooltuneError, match="a server \\(--base-url\\) chooses its own"):
        make_llm("m", "http://localhost:1/v1", weights="int8")
    with pytest.raises(TooltuneError, match="llama.cpp runs the GGUF's own quantisation"):
        make_llm("embedded-base", backend="llamacpp", weights="int8")
