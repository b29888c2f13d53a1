"""Prompt KV caches kept on disk, so a fresh `tooltune run` skips prefilling the system prompt
and tool descriptions it already prefilled in an earlier process.

Why: the in-memory `PrefixCache` dies with the process, and every `tooltune run` starts with the
same few hundred tokens (system prompt, tool descriptions) before the question; prefilling them
is a large part of the time to the first token on a CPU. The key/value tensors of a prompt
depend only on the model's weights and the token ids, so they can be saved once and loaded by
the next process: greedy output stays token-identical, exactly as with the in-memory reuse.

Layout: `<cache root>/kv-v1-<model key>/<hash of the ids>.safetensors`, one file per prompt,
holding the ids and every layer's keys and values. The model key covers the weight files
(path, size, modification time), the adapter, the weights mode and the torch / transformers
versions, so a changed model or library never meets an old cache. Files are written to a
temporary name and renamed (a crash leaves no half-written entry); a damaged file is reported
on stderr, deleted and ignored; the `KEPT` most recently used entries are kept.
TOOLTUNE_NO_KV_CACHE=1 turns it off; TOOLTUNE_CACHE_DIR moves it (with the weights cache)."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tooltune.llm.prefix_cache import common_prefix
from tooltune.llm.weights_cache import cache_root

DISABLE_ENV = "TOOLTUNE_NO_KV_CACHE"
FORMAT_VERSION = 1  # bump when the file layout changes, so old entries are not read
KEPT = 4  # entries per model; one is ~46 KB a token for the embedded model (~20 MB a prompt)
WEIGHT_SUFFIXES = (".gguf", ".safetensors", ".bin", ".json")


def model_key(model_path: str | Path, adapter: str | Path | None, weights: str) -> str:
    """A short hash naming one model as loaded: its files' identities (path, size, mtime —
    cheap, unlike hashing gigabytes at every start), the adapter's, the weights mode, and
    the library versions whose kernels produced the tensors."""
    import torch
    import transformers

    parts = [f"torch={torch.__version__}", f"transformers={transformers.__version__}", f"weights={weights}"]
    for source in (model_path, adapter):
        parts += _file_identities(Path(source)) if source else ["-"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def _file_identities(path: Path) -> list[str]:
    path = path.expanduser().resolve()
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.suffix in WEIGHT_SUFFIXES) if path.is_dir() else []
    out = []
    for f in files:
        stat = f.stat()
        out.append(f"{f}:{stat.st_size}:{stat.st_mtime_ns}")
    return out or [str(path)]


def enabled() -> bool:
    return not os.environ.get(DISABLE_ENV)


class DiskPrefixCache:
    """The on-disk entries of one model. `lookup` returns a fresh DynamicCache holding the
    longest saved prefix of a prompt; `store` saves a prompt's cache. Never raises on a bad or
    unwritable cache: a cache is only a shortcut, and prefilling again is always correct."""

    def __init__(self, key: str, root: Path | None = None, kept: int = KEPT) -> None:
        self.folder = (root or cache_root()) / f"kv-v{FORMAT_VERSION}-{key}"
        self.kept = kept
        self.hits = 0  # prompt tokens served from disk, for tests and benchmarks

    def lookup(self, ids: list[int], config: Any) -> tuple[Any, int]:
        """(cache with the first n positions of `ids`, n), or (None, 0). As in `PrefixCache`,
        at least the last token of `ids` is left to prefill: generation needs its logits."""
        best_file, best = None, 0
        for file in self._entries():
            saved = self._saved_ids(file)
            n = common_prefix(saved, ids) if saved is not None else 0
            if n > best:
                best_file, best = file, n
        best = min(best, len(ids) - 1)
        if best_file is None or best <= 0:
            return None, 0
        cache = self._load(best_file, best, config)
        if cache is None:
            return None, 0
        self.hits += best
        return cache, best

    def store(self, ids: list[int], cache: Any) -> Path | None:
        """Save the first len(ids) positions of `cache` (batch 1), which must hold `ids`."""
        if len(ids) < 2 or cache.get_seq_length() < len(ids):
            return None
        import torch
        from safetensors.torch import save_file

        tensors = {"ids": torch.tensor(ids, dtype=torch.int64)}
        for i, layer in enumerate(cache.layers):
            tensors[f"k.{i}"] = layer.keys[..., : len(ids), :].contiguous()
            tensors[f"v.{i}"] = layer.values[..., : len(ids), :].contiguous()
        target = self.folder / f"{hashlib.sha256(str(ids).encode()).hexdigest()[:24]}.safetensors"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".writing-", suffix=".tmp")
            os.close(fd)
            try:
                save_file(tensors, tmp)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError as exc:
            print(f"note: cannot write the KV cache in {self.folder} ({exc}); set TOOLTUNE_CACHE_DIR to a writable folder", file=sys.stderr)
            return None
        self._prune()
        return target

    def _entries(self) -> list[Path]:
        try:
            return sorted(self.folder.glob("*.safetensors"))
        except OSError:
            return []

    def _saved_ids(self, file: Path) -> list[int] | None:
        from safetensors import safe_open

        try:
            with safe_open(str(file), framework="pt") as f:
                return f.get_tensor("ids").tolist()
        except Exception as exc:  # noqa: BLE001 - any unreadable file is treated the same way
            self._discard(file, exc)
            return None

    def _load(self, file: Path, length: int, config: Any) -> Any:
        from safetensors import safe_open
        from transformers import DynamicCache

        layers = config.num_hidden_layers
        try:
            with safe_open(str(file), framework="pt") as f:
                data = [(f.get_slice(f"k.{i}")[:, :, :length, :], f.get_slice(f"v.{i}")[:, :, :length, :]) for i in range(layers)]
                if f"k.{layers}" in f.keys():
                    raise ValueError(f"it holds more than the model's {layers} layers")
        except Exception as exc:  # noqa: BLE001
            self._discard(file, exc)
            return None
        if any(k.shape[-2] != length or v.shape[-2] != length for k, v in data):
            self._discard(file, ValueError("its tensors are shorter than its token ids"))
            return None
        os.utime(file)  # most recently used: kept by `_prune`
        return DynamicCache(ddp_cache_data=data, config=config)

    def _discard(self, file: Path, why: Exception) -> None:
        print(f"warning: ignoring the damaged KV cache file {file} ({why}); it is deleted and will be rewritten", file=sys.stderr)
        try:
            file.unlink()
        except OSError:
            pass

    def _prune(self) -> None:
        """Keep the `kept` most recently used entries."""
        try:
            entries = sorted(self._entries(), key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for old in entries[self.kept:]:
                old.unlink()
        except OSError:
            pass
