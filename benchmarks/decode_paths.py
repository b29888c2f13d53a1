"""Batch-1 decoding of the embedded SmolLM2 with its shipped adapter merged, path by path, in one
process: each prompt is decoded by every path in turn, so a busy machine slows them alike and the
ratios hold even where the absolute tokens/s do not. Token-exactness is counted against today's
path (transformers, fp32, `tooltune.llm.decode`).

Paths:
- `today`: `TransformersLLM(None).model` through `tooltune.llm.decode` (a DynamicCache that
  grows by `torch.cat` every token);
- `static`: the lite forward with one preallocated KV buffer per layer (no `cat`), fp32, the
  same kernels: token-exact by construction;
- `static-bf16`: the same with bf16 weights and activations;
- `int8`: today's `--weights int8` model through `tooltune.llm.decode`;
- `ort`: the fp32 ONNX folder `--backend ort` converts and caches (`tooltune[ort]`);
- `ort:DIR`: any onnxruntime-genai model folder, e.g. an int4 one made with
  `python -m onnxruntime_genai.models.builder -i HF_FOLDER -o DIR -p int4 -e cpu` from a folder
  holding the merged fp32 weights and the tokenizer files.
Both run greedy through `get_logits` + `append_tokens`, the loop `--backend ort` runs.

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/decode_paths.py --prompts 20 --paths today,static,int8,ort,ort:/tmp/ort_int4
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch
import torch.nn.functional as F

from tooltune.llm.lite_llama import _rotate_half


class StaticDecoder:
    """The lite forward for one token at a time over preallocated KV buffers: attention reads a
    view of the first n positions, which SDPA computes bitwise as on a contiguous copy."""

    def __init__(self, lite: Any, dtype: torch.dtype = torch.float32, capacity: int = 8192) -> None:
        self.lite, self.dtype = lite, dtype
        w = lite.w
        names = ["q_proj", "k_proj", "v_proj", "o_proj"]
        self.layers = [{n: w[f"model.layers.{i}.self_attn.{n}.weight"].to(dtype) for n in names}
                       | {n: w[f"model.layers.{i}.mlp.{n}.weight"].to(dtype) for n in ("gate_proj", "up_proj", "down_proj")}
                       | {"n1": w[f"model.layers.{i}.input_layernorm.weight"], "n2": w[f"model.layers.{i}.post_attention_layernorm.weight"]}
                       for i in range(lite.layers)]
        self.head = lite.lm_head.to(dtype)
        self.keys = torch.zeros(lite.layers, 1, lite.kv_heads, capacity, lite.head_dim)
        self.values = torch.zeros_like(self.keys)
        freqs = torch.arange(capacity).float()[:, None] * lite.inv_freq[None]
        emb = torch.cat((freqs, freqs), -1)
        self.cos, self.sin, self.length = emb.cos(), emb.sin(), 0

    def load(self, cache: Any, length: int) -> None:
        """Start from the first `length` positions of a DynamicCache (a prefix-cache hit)."""
        for i, layer in enumerate(cache.layers):
            self.keys[i, :, :, :length] = layer.keys[..., :length, :]
            self.values[i, :, :, :length] = layer.values[..., :length, :]
        self.length = length

    def _linear(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return F.linear(x, weight) if self.dtype == torch.float32 else F.linear(x.to(self.dtype), weight).float()

    def _norm(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.lite.eps))

    @torch.no_grad()
    def step(self, token: int) -> torch.Tensor:
        """The logits after feeding `token` at the next position."""
        d, n = self.lite.head_dim, self.length
        h = F.embedding(torch.tensor([[token]]), self.lite.embed)
        cos, sin = self.cos[n].view(1, 1, 1, d), self.sin[n].view(1, 1, 1, d)
        for i, w in enumerate(self.layers):
            x = self._norm(h, w["n1"])
            q, k, v = (self._linear(x, w[p]).view(1, 1, -1, d).transpose(1, 2) for p in ("q_proj", "k_proj", "v_proj"))
            q, k = q * cos + _rotate_half(q) * sin, k * cos + _rotate_half(k) * sin
            self.keys[i, :, :, n : n + 1], self.values[i, :, :, n : n + 1] = k, v
            out = F.scaled_dot_product_attention(q, self.keys[i, :, :, : n + 1], self.values[i, :, :, : n + 1], scale=d**-0.5, enable_gqa=True)
            h = h + self._linear(out.transpose(1, 2).reshape(1, 1, -1), w["o_proj"])
            x = self._norm(h, w["n2"])
            h = h + self._linear(F.silu(self._linear(x, w["gate_proj"])) * self._linear(x, w["up_proj"]), w["down_proj"])
        self.length = n + 1
        return self._linear(self._norm(h, self.lite.w["model.norm.weight"]), self.head)[0, -1]


def torch_path(model: Any, n: int) -> Any:
    """Decode `n` tokens after `first` through tooltune.llm.decode, from a copy of the prompt's cache."""
    from tooltune.llm.decode import decode
    from tooltune.llm.prefix_cache import fork

    def run(ids: list[int], cache: Any, first: int) -> list[int]:
        return [first] + decode(model, ids + [first], fork(cache, len(ids), model.config), n, set(), lambda new: False)

    return run


def static_path(decoder: StaticDecoder, n: int) -> Any:
    def run(ids: list[int], cache: Any, first: int) -> list[int]:
        decoder.load(cache, len(ids))
        out = [first]
        for _ in range(n):
            out.append(int(decoder.step(out[-1]).argmax()))
        return out

    return run


def ort_path(folder: str, threads: int, n: int) -> Any:
    """Greedy through onnxruntime-genai; the prompt's prefill is part of each call (it keeps no
    cache between generators here), so its time is taken apart from the decode time."""
    import numpy as np
    import onnxruntime_genai as og

    config = og.Config(folder)
    config.overlay(f'{{"model": {{"decoder": {{"session_options": {{"intra_op_num_threads": {threads}}}}}}}}}')
    model = og.Model(config)

    def run(ids: list[int], cache: Any, first: int) -> tuple[list[int], float]:
        params = og.GeneratorParams(model)
        params.set_search_options(max_length=len(ids) + n + 2)
        gen = og.Generator(model, params)
        gen.append_tokens(np.array(ids, dtype=np.int32))
        out = [int(np.argmax(gen.get_logits()[0, -1]))]
        started = time.perf_counter()
        for _ in range(n):
            gen.append_tokens(np.array([out[-1]], dtype=np.int32))
            out.append(int(np.argmax(gen.get_logits()[0, -1])))
        return out, time.perf_counter() - started

    return run


def make_paths(names: list[str], llm: Any, threads: int, n: int) -> dict[str, Any]:
    from tooltune.llm.embedded import resolve_model
    from tooltune.llm.transformers_backend import TransformersLLM

    paths: dict[str, Any] = {}
    lite = None
    for name in names:
        if name == "today":
            paths[name] = torch_path(llm.model, n)
        elif name in ("static", "static-bf16"):
            lite = lite or TransformersLLM(*resolve_model(None), lite=True).model
            paths[name] = static_path(StaticDecoder(lite, torch.bfloat16 if name.endswith("bf16") else torch.float32), n)
        elif name == "int8":
            paths[name] = torch_path(TransformersLLM(*resolve_model(None), weights="int8").model, n)
        elif name == "ort":
            from tooltune.llm.ort_backend import OrtLLM

            paths[name] = ort_path(str(OrtLLM(*resolve_model(None)).folder), threads, n)
        elif name.startswith("ort:"):
            paths[name] = ort_path(name[4:], threads, n)
        else:
            raise SystemExit(f"--paths: unknown path {name!r}; use today, static, static-bf16, int8, ort or ort:DIR")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paths", default="today,static,int8")
    parser.add_argument("--prompts", type=int, default=10, help="prompts (11 tools each, ~1150 tokens)")
    parser.add_argument("--tokens", type=int, default=32, help="greedy tokens per prompt and path")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from model_speed import QUESTIONS, request, tool_specs

    from tooltune.llm.decode import decode
    from tooltune.llm.embedded import resolve_model
    from tooltune.llm.transformers_backend import TransformersLLM
    from tooltune.messages import Message

    llm = TransformersLLM(*resolve_model(None))  # what `--model embedded` runs: the shipped adapter merged
    paths = make_paths(args.paths.split(","), llm, args.threads, args.tokens)
    rate: dict[str, list[float]] = {p: [] for p in paths}
    differs: dict[str, list[int | None]] = {p: [] for p in paths}
    questions = (["Write a short paragraph about the history of Paris."] + QUESTIONS * 3)[: args.prompts]
    for q in questions:
        ids = llm.prompt_ids(request([Message("user", q)], tool_specs(), args.tokens, stop=False))
        cache = llm._empty_cache()
        first = decode(llm.model, ids, cache, 1, set(), lambda new: False)[0]
        outputs = {}
        for name, run in paths.items():
            started = time.perf_counter()
            result = run(ids, cache, first)
            out, seconds = result if isinstance(result, tuple) else (result, time.perf_counter() - started)
            outputs[name] = out
            rate[name].append(args.tokens / seconds)
        reference = outputs.get("today", next(iter(outputs.values())))
        for name, out in outputs.items():
            differs[name].append(next((i for i, (a, b) in enumerate(zip(out, reference)) if a != b), None))
        print({name: round(r[-1], 1) for name, r in rate.items()}, flush=True)
    report(rate, differs, args)


def report(rate: dict[str, list[float]], differs: dict[str, list[int | None]], args: argparse.Namespace) -> None:
    base = next(iter(rate))
    print(f"\n{len(rate[base])} prompts, {args.tokens} greedy tokens each, {args.threads} threads; ratios are per prompt, then the median\n")
    print(f"| path | decode tokens/s, median | best | x {base}, median | token-exact vs {base} | first differing step |")
    print("|---|---|---|---|---|---|")
    for name, r in rate.items():
        ratio = statistics.median(a / b for a, b in zip(r, rate[base]))
        exact = sum(d is None for d in differs[name])
        steps = sorted(d for d in differs[name] if d is not None)
        print(f"| {name} | {statistics.median(r):.1f} | {max(r):.1f} | {ratio:.2f} | {exact}/{len(r)} | {steps or '-'} |")


if __name__ == "__main__":
    main()
