"""Chunked prefill for the engine's long lane: a long prompt enters the backend's KV cache a
chunk at a time, so short requests can run between the chunks instead of behind one huge
forward pass.

The chunks build one KV cache, kept on the job. Once all but the prompt's last token is in it,
it is stored in the backend's prefix cache and the job's `complete` finds it there (the lookup
always leaves the last token to compute, since generation needs its logits): the completion
then prefills one token. The result is the same as one long prefill — the same positions, the
same keys and values, only computed in pieces.
"""

from __future__ import annotations

from typing import Any

from tooltune.llm.prefix_cache import cache_kw


def prefill_step(llm: Any, job: Any, chunk: int) -> bool:
    """Prefill the next `chunk` tokens of `job.ids` into `job.kv`; False when nothing is left
    (the cache has then been handed to the prefix cache for `complete` to pick up)."""
    import torch
    from transformers import DynamicCache

    ids = job.ids
    if job.kv is None and job.prefilled == 0:
        job.kv, job.prefilled = llm.prefix_cache.lookup(ids)  # a shared system prompt is not redone
        if job.kv is None:
            job.kv, job.prefilled = DynamicCache(config=llm.model.config), 0
    if job.kv is None:
        return False
    end = min(job.prefilled + chunk, len(ids) - 1)
    if end <= job.prefilled:
        llm.prefix_cache.store(ids[:job.prefilled], job.kv)
        job.kv = None
        return False
    todo = torch.tensor([ids[job.prefilled:end]], device=llm.model.device)
    with torch.inference_mode():
        llm.model(input_ids=todo, **cache_kw(llm.model, job.kv), use_cache=True, logits_to_keep=1)
    job.prefilled = end
    return True
