"""Batched generation for `TransformersLLM`: one `generate` call for requests sharing settings.

Rows usually share a long prefix (system prompt and tool descriptions). That prefix is taken
from the prefix cache (or prefilled once, batch 1) and repeated for every row; each row's own
suffix follows after padding placed *between* the prefix and the suffix, masked out, so position
ids (from the attention mask) stay those of the unpadded prompt. After generation every row's
KV cache, minus the padding, goes back into the prefix cache for that item's next step.
"""

from __future__ import annotations

from typing import Any

from tooltune.llm.base import Completion, GenerationRequest, cut_at_stop
from tooltune.llm.prefix_cache import cache_kw, common_prefix, fork, returned_cache


def generate_group(llm: Any, requests: list[GenerationRequest]) -> list[Completion]:
    import torch

    rows = [llm.prompt_ids(r) for r in requests]
    shared = _shared_prefix(llm, rows)
    cache = None
    if shared:
        base = _prefix_kv(llm, rows[0][:shared])
        cache = fork(base, shared, llm.model.config, repeats=len(rows))
    pad = llm.tokenizer.pad_token_id
    width = max(len(r) for r in rows) - shared
    ids, mask = [], []
    for r in rows:
        gap = width - (len(r) - shared)
        ids.append(r[:shared] + [pad] * gap + r[shared:])
        mask.append([1] * shared + [0] * gap + [1] * (len(r) - shared))
    input_ids, attention_mask = torch.tensor(ids, device=llm.model.device), torch.tensor(mask, device=llm.model.device)
    kwargs = llm._generate_kwargs(requests[0], cancels=[r.cancel for r in requests])
    guides = [llm.guide(r) for r in requests]
    if any(g is not None for g in guides):
        from transformers import LogitsProcessorList

        from tooltune.llm.constrain import BatchGuides

        kwargs["logits_processor"] = LogitsProcessorList([BatchGuides(guides, input_ids.shape[1], requests[0].temperature <= 0)])
    if llm.prefix_cache.enabled:
        kwargs.update(return_dict_in_generate=True, **cache_kw(llm.model, cache if cache is not None else llm._empty_cache()))
    with torch.inference_mode():
        out = llm.model.generate(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
    sequences = out.sequences if llm.prefix_cache.enabled else out
    prompt_width = input_ids.shape[1]
    completions = []
    for i, (row, req) in enumerate(zip(sequences, requests)):
        new = row[prompt_width:]
        n_new = _generated_length(new, pad, llm.tokenizer.eos_token_id)
        text, stopped = cut_at_stop(llm.tokenizer.decode(new[:n_new], skip_special_tokens=True), req.stop)
        finish = "stop" if stopped or n_new < req.max_tokens else "length"
        completions.append(Completion(text, None, finish, len(rows[i]), n_new))
        if llm.prefix_cache.enabled:
            _store_row(llm, returned_cache(out), i, attention_mask[i], rows[i] + new[:n_new].tolist())
    return completions


def _shared_prefix(llm: Any, rows: list[list[int]]) -> int:
    """How many leading tokens every row shares (always leaving each row one token to prefill)."""
    if not llm.prefix_cache.enabled:
        return 0
    shared = min(common_prefix(rows[0], r) for r in rows[1:])
    return max(0, min(shared, min(len(r) for r in rows) - 1))


def _prefix_kv(llm: Any, prefix: list[int]) -> Any:
    """A batch-1 KV cache holding exactly `prefix`, reusing what the prefix cache has."""
    import torch

    cache, cached = llm.prefix_cache.lookup(prefix + [0])  # the extra token lets all of `prefix` match
    if cache is None:
        cache, cached = llm._empty_cache(), 0
    if cached < len(prefix):
        todo = torch.tensor([prefix[cached:]], device=llm.model.device)
        with torch.inference_mode():
            llm.model(input_ids=todo, **cache_kw(llm.model, cache), use_cache=True, logits_to_keep=1)
    llm.prefix_cache.store(prefix, cache)
    return cache


def _generated_length(new: Any, pad: int | None, eos: int | None) -> int:
    """Tokens a row really generated: up to and including its end-of-sequence token; finished
    rows are filled with padding afterwards."""
    for j, token in enumerate(new.tolist()):
        if token == eos:
            return j + 1
        if token == pad:
            return j
    return int(new.shape[0])


def _store_row(llm: Any, cache: Any, row: int, prompt_mask: Any, tokens: list[int]) -> None:
    """Keep row `row` of a batched cache without its padding slots, as a batch-1 entry."""
    import torch
    from transformers import DynamicCache

    length = cache.get_seq_length()
    prompt_width = prompt_mask.shape[0]
    positions = torch.cat([prompt_mask.nonzero().flatten(), torch.arange(prompt_width, length, device=prompt_mask.device)])
    positions = positions[: len(tokens)]
    positions = positions[positions < length]
    data = [(layer.keys[row : row + 1].index_select(-2, positions), layer.values[row : row + 1].index_select(-2, positions)) for layer in cache.layers]
    llm.prefix_cache.store(tokens[: positions.shape[0]], DynamicCache(ddp_cache_data=data, config=llm.model.config))
