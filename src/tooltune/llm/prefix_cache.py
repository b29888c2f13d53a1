"""Reusing the key/value cache of earlier prompts (prefix caching) for transformers models.

Every agent step, evaluation item and rollout sends the same long prefix (system prompt, tool
descriptions, then the growing history). `PrefixCache` keeps the KV cache of the last few token
sequences it saw; a new prompt starts from the entry sharing its longest token prefix, so only the
tokens after that prefix are prefilled. Entries are never mutated: a lookup returns a fresh
`DynamicCache` holding a copy of the shared part, which `generate` then extends.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def cache_kw(model: Any, cache: Any) -> dict[str, Any]:
    """The keyword that hands `cache` to `model` and `generate`: transformers 5.24 renamed
    `past_key_values` to `cache` (the old name warns on every call, then goes in 5.40). A PEFT
    wrapper's `forward` takes `**kwargs` and passes them through, so the name is read from the
    model it wraps."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    forward = getattr(type(base), "forward", base)  # the class's: an instance's may be wrapped (tests, hooks)
    return {"cache" if "cache" in inspect.signature(forward).parameters else "past_key_values": cache}


def returned_cache(out: Any) -> Any:
    """The cache a `generate(return_dict_in_generate=True)` output holds, under either name."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def reusable(model: Any) -> bool:
    """Only plain full-attention caches can be cut at any position (sliding windows cannot)."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    cache = DynamicCache(config=model.config)
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


def fork(cache: Any, length: int, config: Any, repeats: int = 1) -> Any:
    """A new DynamicCache with the first `length` positions of `cache` (batch 1), repeated
    `repeats` times along the batch dimension."""
    from transformers import DynamicCache

    data = []
    for layer in cache.layers:
        keys, values = layer.keys[..., :length, :], layer.values[..., :length, :]
        if repeats > 1:
            keys, values = keys.expand(repeats, -1, -1, -1), values.expand(repeats, -1, -1, -1)
        data.append((keys, values))
    return DynamicCache(ddp_cache_data=data, config=config)


class PrefixCache:
    """A small LRU of (token ids, batch-1 DynamicCache) pairs, safe to share between threads."""

    def __init__(self, config: Any, entries: int = 4) -> None:
        self.config = config
        self.entries = entries
        self._store: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # prompt tokens served from the cache, for benchmarks and tests
        self.misses = 0  # prompt tokens prefilled

    @property
    def enabled(self) -> bool:
        return self.entries > 0

    def lookup(self, ids: list[int], repeats: int = 1) -> tuple[Any, int]:
        """(a fresh cache holding the longest cached prefix of `ids`, its length). At least the
        last token of `ids` is always left to prefill, since generation needs its logits."""
        best_key, best = None, 0
        with self._lock:
            for key in self._store:
                n = common_prefix(list(key[: len(ids)]), ids)
                if n > best:
                    best_key, best = key, n
            best = min(best, len(ids) - 1)
            if best_key is None or best <= 0:
                self.misses += len(ids)
                return None, 0
            self._store.move_to_end(best_key)
            entry = self._store[best_key]
        self.hits += best
        self.misses += len(ids) - best
        return fork(entry, best, self.config, repeats), best

    def store(self, ids: list[int], cache: Any, row: int = 0) -> None:
        """Keep row `row` of `cache`, whose positions hold exactly the tokens `ids`."""
        if not self.enabled or not ids:
            return
        key = tuple(ids)
        if row or cache.layers[0].keys.shape[0] > 1:
            cache = _select_row(cache, row, self.config)
        with self._lock:
            # An entry that is a prefix of the new one is now redundant.
            for old in [k for k in self._store if len(k) <= len(key) and key[: len(k)] == k]:
                del self._store[old]
            self._store[key] = cache
            self._store.move_to_end(key)
            while len(self._store) > self.entries:
                self._store.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._store.clear()


def _select_row(cache: Any, row: int, config: Any) -> Any:
    from transformers import DynamicCache

    return DynamicCache(ddp_cache_data=[(layer.keys[row : row + 1], layer.values[row : row + 1]) for layer in cache.layers], config=config)
