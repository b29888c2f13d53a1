"""A Llama forward pass in plain PyTorch, so `tooltune run` starts without transformers' model code.

Why: in transformers 5.x, merely building a `LlamaConfig` imports `transformers.activations` ->
`hub_kernels` -> `core_model_loading`, which pull in `torch._dynamo`, `sympy` and
`torch.distributed.tensor`: about 1.5 s on a 2-core CPU before a weight is read, on every start
(see docs/inference.md, "Start-up"). Generation itself needs none of it. This module loads a
cached fp32 folder (safetensors, config, tokenizer) with the tokenizer class, cache class and
config base class of transformers — which import none of that — and runs the forward pass with
the same torch operations, in the same order and with the same attention-kernel choices, as
`LlamaForCausalLM` with SDPA attention, so the logits are bitwise the same (pinned by
tests/llm/test_lite_llama.py on a tiny random model and, marked slow, on the embedded model).

It covers exactly what it can reproduce: `LlamaForCausalLM`, fp32 weights, SiLU, no biases,
default RoPE, full attention, batch 1, no padding. Anything else returns None from
`load_folder`, and the caller uses transformers as before. It has no `generate`:
`TransformersLLM.complete_batch` runs its requests one by one on it. TOOLTUNE_NO_LITE=1 turns
it off (transformers loads the model, as everywhere else).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.nn.functional as F

DISABLE_ENV = "TOOLTUNE_NO_LITE"
TOKENIZER_CLASSES = ("TokenizersBackend", "PreTrainedTokenizerFast")  # what AutoTokenizer maps to the plain fast class


def supported(config: dict[str, Any]) -> bool:
    """Whether `config` (a config.json) describes a model this module reproduces exactly."""
    rope = config.get("rope_parameters") or {}
    return (
        config.get("model_type") == "llama" and config.get("architectures") == ["LlamaForCausalLM"]
        and config.get("dtype", config.get("torch_dtype")) == "float32" and config.get("hidden_act") == "silu"
        and not config.get("attention_bias") and not config.get("mlp_bias") and config.get("pretraining_tp", 1) == 1
        and rope.get("rope_type", "default") == "default" and "rope_theta" in rope
        and not config.get("rope_scaling") and not config.get("sliding_window") and not config.get("layer_types")
    )


def load_folder(weights: Path, tokenizer: Path) -> tuple[LiteLlama, Any] | None:
    """(model, tokenizer) from a folder of fp32 safetensors and a tokenizer folder, or None
    when either is something this module does not reproduce exactly."""
    if os.environ.get(DISABLE_ENV):
        return None
    try:
        config = json.loads((weights / "config.json").read_text())
        tok_config = json.loads((tokenizer / "tokenizer_config.json").read_text())
    except (OSError, ValueError):
        return None
    files = sorted(weights.glob("*.safetensors"))
    if not supported(config) or tok_config.get("tokenizer_class") not in TOKENIZER_CLASSES or not files:
        return None
    if not (tokenizer / "tokenizer.json").is_file():
        return None
    from safetensors.torch import load_file
    from transformers import PreTrainedTokenizerFast

    state: dict[str, torch.Tensor] = {}
    for f in files:
        state.update(load_file(f))
    tok = PreTrainedTokenizerFast.from_pretrained(str(tokenizer))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    generation = _read_json(weights / "generation_config.json")
    return LiteLlama(config, state, generation), tok


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


class LiteLlama:
    """The parts of `LlamaForCausalLM` that `tooltune.llm.decode` and the prefix caches use:
    `model(input_ids=, past_key_values=, use_cache=, logits_to_keep=).logits`, `.config` (a
    transformers `PreTrainedConfig`, which `DynamicCache` reads) and `.generation_config`."""

    def __init__(self, config: dict[str, Any], state: dict[str, torch.Tensor], generation: dict[str, Any]) -> None:
        from transformers import PreTrainedConfig

        self.config = PreTrainedConfig(**config)
        self.generation_config = SimpleNamespace(eos_token_id=generation.get("eos_token_id", config.get("eos_token_id")))
        self.heads, self.kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
        self.head_dim = config.get("head_dim") or config["hidden_size"] // self.heads
        self.eps = config["rms_norm_eps"]
        self.layers = config["num_hidden_layers"]
        self.w = state
        self.embed = state["model.embed_tokens.weight"]
        self.lm_head = state.get("lm_head.weight", self.embed) if config.get("tie_word_embeddings", True) else state["lm_head.weight"]
        dim = self.head_dim  # LlamaRotaryEmbedding.compute_default_rope_parameters
        self.inv_freq = 1.0 / (config["rope_parameters"]["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))

    @property
    def device(self) -> torch.device:
        return self.embed.device

    def eval(self) -> LiteLlama:
        return self

    def __call__(self, input_ids: torch.Tensor, past_key_values: Any, use_cache: bool = True, logits_to_keep: int = 0) -> Any:
        """LlamaForCausalLM.forward for one unpadded row, extending `past_key_values` in place."""
        past = past_key_values.get_seq_length()
        hidden = F.embedding(input_ids, self.embed)
        positions = (torch.arange(hidden.shape[1], device=hidden.device) + past).unsqueeze(0)
        freqs = positions[..., None].float() * self.inv_freq.to(device=hidden.device, dtype=torch.float)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(hidden.dtype), emb.sin().to(hidden.dtype)  # attention_scaling is 1.0 for default RoPE
        for i in range(self.layers):
            p = f"model.layers.{i}."
            residual = hidden
            hidden = residual + self._attention(self._norm(hidden, p + "input_layernorm.weight"), p, i, cos, sin, past_key_values, past)
            residual = hidden
            hidden = residual + self._mlp(self._norm(hidden, p + "post_attention_layernorm.weight"), p)
        hidden = self._norm(hidden, "model.norm.weight")
        kept = hidden[:, -logits_to_keep:, :] if logits_to_keep else hidden
        return SimpleNamespace(logits=F.linear(kept, self.lm_head), past_key_values=past_key_values)

    def _norm(self, hidden: torch.Tensor, weight: str) -> torch.Tensor:
        """LlamaRMSNorm."""
        dtype = hidden.dtype
        hidden = hidden.to(torch.float32)
        variance = hidden.pow(2).mean(-1, keepdim=True)
        hidden = hidden * torch.rsqrt(variance + self.eps)
        return self.w[weight] * hidden.to(dtype)

    def _mlp(self, x: torch.Tensor, p: str) -> torch.Tensor:
        gate = F.linear(x, self.w[p + "mlp.gate_proj.weight"])
        return F.linear(F.silu(gate) * F.linear(x, self.w[p + "mlp.up_proj.weight"]), self.w[p + "mlp.down_proj.weight"])

    def _attention(self, x: torch.Tensor, p: str, layer: int, cos: torch.Tensor, sin: torch.Tensor, cache: Any, past: int) -> torch.Tensor:
        """LlamaAttention with transformers' `sdpa_attention_forward` and the mask
        `create_causal_mask` makes for an unpadded row: none (is_causal, or a single query)
        when the queries cover all keys or are one token, else a boolean lower-right mask."""
        shape = (*x.shape[:-1], -1, self.head_dim)
        q = F.linear(x, self.w[p + "self_attn.q_proj.weight"]).view(shape).transpose(1, 2)
        k = F.linear(x, self.w[p + "self_attn.k_proj.weight"]).view(shape).transpose(1, 2)
        v = F.linear(x, self.w[p + "self_attn.v_proj.weight"]).view(shape).transpose(1, 2)
        c, s = cos.unsqueeze(1), sin.unsqueeze(1)
        q, k = (q * c) + (_rotate_half(q) * s), (k * c) + (_rotate_half(k) * s)
        k, v = cache.update(k, v, layer)
        q_len, kv_len = q.shape[2], k.shape[2]
        groups = self.heads // self.kv_heads
        if q_len == 1 or q_len == kv_len:
            gqa = {"enable_gqa": True} if groups > 1 and k.shape[-1] == v.shape[-1] <= 256 else {}
            if groups > 1 and not gqa and q_len > 1:
                k, v = _repeat_kv(k, groups), _repeat_kv(v, groups)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, scale=self.head_dim**-0.5, is_causal=q_len > 1, **gqa)
        else:
            mask = ((torch.arange(q_len, device=q.device) + past)[:, None] >= torch.arange(kv_len, device=q.device)[None, :])
            mask = mask[None, None].expand(1, -1, q_len, kv_len)
            k, v = (_repeat_kv(k, groups), _repeat_kv(v, groups)) if groups > 1 else (k, v)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, scale=self.head_dim**-0.5, is_causal=False)
        out = out.reshape(out.shape[0], -1, q_len, v.shape[-1]).transpose(1, 2).contiguous()
        return F.linear(out.reshape(*x.shape[:-1], -1).contiguous(), self.w[p + "self_attn.o_proj.weight"])


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def _repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    batch, heads, length, dim = x.shape
    return x[:, :, None, :, :].expand(batch, heads, groups, length, dim).reshape(batch, heads * groups, length, dim)
