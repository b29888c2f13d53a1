"""Loss over trained positions only: no logits are ever built for masked (-100) positions.

`LossModel` wraps a causal LM. Its forward runs the decoder, keeps the hidden states of the
positions whose *next* token is trained, and applies the output head to those in chunks (each
chunk recomputed in backward, so at most one chunk of vocab-sized logits lives at a time). For
agent data, where most tokens are prompt, tool descriptions and observations, this skips most of
the lm_head work and memory. Being an nn.Module whose forward goes through the whole model, it
can be handed to `accelerator.prepare` under DDP, FSDP or DeepSpeed.

It returns the *sum* of (weighted) token losses and the number of trained tokens, so the
trainer divides by the token count of the whole accumulated batch: every trained token counts
the same however tokens fall into micro-batches (the one-pass == per-turn-split identity).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from tooltune.llm.prefix_cache import cache_kw
from tooltune.train.dataset import IGNORE


def _head_loss(head: nn.Module, hidden: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    logits = head(hidden).float()
    return (F.cross_entropy(logits, targets, reduction="none") * weights).sum()


def model_parts(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """(decoder, output head) of a causal LM, through a PEFT wrapper."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.get_decoder(), base.get_output_embeddings()


def decoder_states(decoder: nn.Module, input_ids: torch.Tensor, position_ids: torch.Tensor | None = None,
                   attention_mask: torch.Tensor | None = None, prefix_ids: torch.Tensor | None = None, prefix_grad: bool = True) -> torch.Tensor:
    """Last hidden states of a collated row. A tree row (train/tree.py) runs its shared prefix
    first and the continuations on top of the prefix's keys and values. `prefix_grad` False runs
    the prefix without gradient: the continuations still see exactly the prefix the current
    weights compute, but no gradient flows back into it (faster and lighter; not exact)."""
    past = None
    if prefix_ids is not None:
        with torch.set_grad_enabled(torch.is_grad_enabled() and prefix_grad):
            out = decoder(input_ids=prefix_ids, use_cache=True)
        past = cache_kw(decoder, getattr(out, "cache", None) or out.past_key_values)
    return decoder(input_ids=input_ids, position_ids=position_ids, attention_mask=attention_mask, **(past or {}),
                   use_cache=past is not None).last_hidden_state


class LossModel(nn.Module):
    def __init__(self, model: nn.Module, chunk_size: int = 2048, prefix_grad: bool = True) -> None:
        super().__init__()
        self.model = model
        self.chunk_size = chunk_size
        self.prefix_grad = prefix_grad

    def _parts(self) -> tuple[nn.Module, nn.Module]:
        return model_parts(self.model)

    def forward(
        self, input_ids: torch.Tensor, labels: torch.Tensor, position_ids: torch.Tensor | None = None,
        weights: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None, prefix_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        decoder, head = self._parts()
        hidden = decoder_states(decoder, input_ids, position_ids, attention_mask, prefix_ids, self.prefix_grad)
        # Position t predicts token t+1: shift labels left, keep only positions with a target.
        targets = labels[:, 1:]
        keep = targets != IGNORE
        selected = hidden[:, :-1][keep]
        target_ids = targets[keep]
        if weights is None:
            token_w = torch.ones_like(target_ids, dtype=torch.float32)
        else:
            token_w = weights[:, 1:][keep].float()
        total = hidden.new_zeros((), dtype=torch.float32)
        for start in range(0, target_ids.numel(), self.chunk_size):
            part = slice(start, start + self.chunk_size)
            args = (head, selected[part], target_ids[part], token_w[part])
            if torch.is_grad_enabled() and target_ids.numel() > self.chunk_size:
                total = total + checkpoint(_head_loss, *args, use_reentrant=False)
            else:
                total = total + _head_loss(*args)
        if target_ids.numel() == 0:  # keep the graph connected so every rank runs backward
            total = total + hidden.sum() * 0.0
        return total, keep.sum()


def mean_loss(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
    """Token-weighted mean loss of one collated batch (used by tests and eval)."""
    loss_sum, count = LossModel(model)(batch["input_ids"], batch["labels"], batch.get("position_ids"), batch.get("weights"))
    return loss_sum / count.clamp(min=1)
