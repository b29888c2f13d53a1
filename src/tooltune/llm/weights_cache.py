"""GGUF files de-quantised once: the fp32 weights (safetensors), config and tokenizer are kept
as a Hugging Face folder in a user cache directory keyed by the GGUF's content hash.

De-quantising the embedded Q4_1 GGUF takes ~20 s on a small CPU; loading the cached folder
takes about a second, so every later `run`, `eval`, `serve` or training start skips it. The
folder is written to a temporary name and renamed into place, so a crash or Ctrl-C during the
one-off conversion never leaves a half-written cache behind.

Set TOOLTUNE_CACHE_DIR to relocate the cache (default: $XDG_CACHE_HOME/tooltune, else
~/.cache/tooltune); TOOLTUNE_NO_WEIGHTS_CACHE=1 turns it off."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from collections.abc import Callable
from typing import Any

from tooltune.llm.embedded import ADAPTER_CONFIG

CACHE_ENV = "TOOLTUNE_CACHE_DIR"
DISABLE_ENV = "TOOLTUNE_NO_WEIGHTS_CACHE"
FORMAT_VERSION = 1  # bump when the folder layout changes, so old caches are not reused


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tooltune"


def file_hash(path: Path) -> str:
    """sha256 of the file, memoised by (path, size, mtime) so a warm start does not re-read it."""
    stat = path.stat()
    memo = cache_root() / "hashes.json"
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if key in known:
        return known[key]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    known[key] = digest.hexdigest()
    _write_atomically(memo, json.dumps(known, indent=1))
    return known[key]


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass  # the memo is only a shortcut; hashing again next time is correct too


def cached_folder(gguf: Path) -> Path:
    """Where the fp32 copy of `gguf` lives (it may not exist yet)."""
    return cache_root() / f"gguf-v{FORMAT_VERSION}-{file_hash(gguf)[:20]}"


def forget_gguf_quantization(model: Any) -> None:
    """A GGUF checkpoint is de-quantized to fp32 on load, yet stays flagged as quantized, which
    blocks training tools and would make a saved folder claim a GGUF quantization it lacks."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def fp32_folder(gguf: Path) -> Path | None:
    """The cached HF folder for `gguf`, converting it first when needed; None when the cache is
    turned off or cannot be written (callers then load the GGUF directly, as before)."""
    if os.environ.get(DISABLE_ENV):
        return None
    folder = cached_folder(gguf)
    if (folder / "config.json").is_file():
        return folder
    print(f"converting {gguf.name} to fp32 once (about 20 s); cached in {folder} so later starts take about a second", file=sys.stderr)
    return build_folder(folder, lambda tmp: _convert(gguf, tmp))


def merged_folder(gguf: Path, adapter: Path, write: Callable[[Path], None]) -> Path | None:
    """The cached fp32 folder of `gguf` with the LoRA `adapter` merged in, made by `write` when
    missing. Keyed by both files' hashes: a retrained adapter gets a new folder. A warm start
    then loads one safetensors file instead of importing peft and merging (~3.5 s here)."""
    if os.environ.get(DISABLE_ENV):
        return None
    weights = adapter / "adapter_model.safetensors"
    if not weights.is_file():
        return None
    key = hashlib.sha256((file_hash(weights) + file_hash(adapter / ADAPTER_CONFIG)).encode()).hexdigest()[:20]
    folder = cache_root() / f"merged-v{FORMAT_VERSION}-{file_hash(gguf)[:20]}-{key}"
    if (folder / "config.json").is_file():
        os.utime(folder)  # most recently used: kept by the pruning below
        return folder
    print(f"merging the adapter {adapter.name} into {gguf.name} once; cached in {folder}", file=sys.stderr)
    built = build_folder(folder, write)
    _prune_merged(MERGED_KEPT)
    return built


MERGED_KEPT = 3  # merged copies are ~540 MB each and every retrained adapter makes a new one


def _prune_merged(keep: int) -> None:
    """Delete all but the `keep` most recently used merged folders."""
    folders = sorted(cache_root().glob("merged-v*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def tokenizer_folder(gguf: Path) -> Path | None:
    """A folder holding `gguf`'s tokenizer: the full fp32 folder when converted, else a
    tokenizer-only copy (reading the tokenizer out of a GGUF takes ~6 s; this, well under 1 s)."""
    if os.environ.get(DISABLE_ENV):
        return None
    full = cached_folder(gguf)
    if (full / "tokenizer_config.json").is_file():
        return full
    folder = full.with_name(full.name.replace("gguf-", "gguf-tokenizer-", 1))
    if (folder / "tokenizer_config.json").is_file():
        return folder

    def save(tmp: Path) -> None:
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(tmp)

    return build_folder(folder, save)


def build_folder(folder: Path, write: Callable[[Path], None]) -> Path | None:
    """Run `write` into a temporary folder next to `folder`, then rename it into place: readers
    see the whole folder or none of it, whatever happens meanwhile."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".converting-"))
    except OSError as exc:
        print(f"note: cannot write the cache in {folder.parent} ({exc}); set {CACHE_ENV} to a writable folder", file=sys.stderr)
        return None
    try:
        write(tmp)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process finished first: keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_warning()  # keep transformers' own progress bars for the de-quantisation
    hf_logging.enable_progress_bar()
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    forget_gguf_quantization(model)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
