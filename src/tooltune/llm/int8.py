"""Int8 weights for CPU decoding: `TransformersLLM(weights="int8")`, `--weights int8`.

Decoding one token at a time is bound by memory bandwidth, not arithmetic: every new token reads
every weight once. The embedded model de-quantised to fp32 is 540 MB a token; on this 2-core CPU
that caps transformers at ~15 tokens/s. Each `nn.Linear` here keeps its weight as int8 with one
scale per output row (a quarter of the bytes) and multiplies with PyTorch's CPU int8 weight-only
kernel (`aten._weight_int8pack_mm`, bf16 activations), about 2.5x faster per token; a prompt's
prefill de-quantises instead and runs a GEMM: bf16 where this CPU's bf16 GEMM is the faster (about
2x fp32 with AVX-512), fp32 where it is not (5x slower than fp32 on an AVX2-only CPU, which made
the first token 10x slower than fp32's) — timed once per process, `prefill_dtype()`.

It is an approximation: greedy output can differ from fp32 after some tokens, which is why fp32
stays the default and the recipe's published numbers are measured in fp32; `tooltune eval
--weights int8` measures what it costs on your own items. The embedding table (tied to the output
head in SmolLM2) stays fp32 for the lookup; only the head's matrix product uses the int8 copy.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

WEIGHTS = ("fp32", "int8")
# From this many rows (prompt tokens x batch) on, a product is compute-bound: the int8 kernel is
# then slower than de-quantising the rows and using a GEMM (measured on an AVX-512 CPU: 1155 rows,
# 576 -> 1536: int8 kernel 16.9 ms, bf16 7.6 ms, fp32 15.8 ms; 4 rows: 0.07 / 0.32 / 0.64).
PREFILL_ROWS = 64


@lru_cache(maxsize=1)
def prefill_dtype() -> Any:
    """The faster GEMM dtype for a prefill on this CPU, bf16 or fp32: each timed three times on a
    prefill-sized product (256 rows, 576 -> 1536; 0.18 s once on this 2-core CPU). Measured: AVX-512, 1155 rows:
    bf16 7.6 ms, fp32 15.8 ms; AVX2 only: bf16 128 ms, fp32 24.5 ms."""
    import time

    import torch

    x, w = torch.randn(256, 576), torch.randn(1536, 576)
    best: dict[Any, float] = {}
    for dtype in (torch.bfloat16, torch.float32):
        xa, wa = x.to(dtype), w.to(dtype)
        torch.nn.functional.linear(xa, wa)
        started = time.perf_counter()
        for _ in range(3):
            torch.nn.functional.linear(xa, wa)
        best[dtype] = time.perf_counter() - started
    return min(best, key=best.__getitem__)


def check_weights(value: str, option: str = "unknown weights") -> None:
    """The one check of a `--weights` value (`make_llm`, `load_model`, the recipe's eval)."""
    if value not in WEIGHTS:
        from tooltune.errors import TooltuneError

        raise TooltuneError(f"{option} {value!r}: use {' or '.join(WEIGHTS)}")


def supported() -> bool:
    """PyTorch has the int8 weight-only CPU kernel (2.3 and later)."""
    import torch

    return hasattr(torch.ops.aten, "_weight_int8pack_mm")


def _int8_linear_class() -> type:
    import torch

    class Int8Linear(torch.nn.Module):
        """`y = x W^T + b` with W stored as int8 rows times a per-row scale."""

        def __init__(self, linear: torch.nn.Linear) -> None:
            super().__init__()
            weight = linear.weight.detach().float()
            scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            self.register_buffer("qweight", torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous())
            self.register_buffer("scale", scale.to(torch.bfloat16))
            self.bias = None if linear.bias is None else torch.nn.Parameter(linear.bias.detach().float(), requires_grad=False)
            self.in_features, self.out_features = linear.in_features, linear.out_features

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            flat = x.reshape(-1, self.in_features)
            if flat.shape[0] >= PREFILL_ROWS:  # a prefill: compute-bound, a GEMM in this CPU's faster dtype
                dtype = prefill_dtype()
                y = torch.nn.functional.linear(flat.to(dtype), self.qweight.to(dtype) * self.scale.to(dtype)[:, None]).to(x.dtype)
            else:
                y = torch.ops.aten._weight_int8pack_mm(flat.to(torch.bfloat16), self.qweight, self.scale).to(x.dtype)
            if self.bias is not None:
                y = y + self.bias
            return y.reshape(*x.shape[:-1], self.out_features)

    return Int8Linear


def quantize_int8(model: Any) -> Any:
    """Replace every `nn.Linear` of `model` (in place) with its int8 version; returns `model`.
    Call it after merging any adapter, on a model used only for inference."""
    import torch

    from tooltune.errors import TooltuneError

    if not supported():
        raise TooltuneError(f"--weights int8 needs PyTorch 2.3 or later (this is {torch.__version__}): upgrade torch or use --weights fp32")
    int8_linear = _int8_linear_class()
    targets = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
               if isinstance(child, torch.nn.Linear)]
    for parent, name, child in targets:
        setattr(parent, name, int8_linear(child))
    return model
