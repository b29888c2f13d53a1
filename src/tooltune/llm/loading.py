"""Loading a base model and a LoRA adapter: the one place every caller (the transformers
backend, `serve` / `export-model`, training, `merge`, DPO) turns paths into weights.

A base is a Hugging Face model folder or a GGUF file (`None`: the embedded SmolLM2); a GGUF is
de-quantised once and cached (`weights_cache`). An adapter is a PEFT LoRA folder, recognised by
its `ADAPTER_CONFIG`; for inference it is merged into the weights so generation runs at base
speed, and a GGUF base merged with an adapter is cached as one folder too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.llm.embedded import ADAPTER_CONFIG, is_adapter_dir, embedded_model_path

__all__ = ["ADAPTER_CONFIG", "is_adapter_dir", "require_adapter", "split_source", "load_tokenizer", "load_weights", "load_pretrained",
           "apply_adapter", "attach_adapter", "load_with_adapter", "merged_source"]


def require_adapter(adapter: str | Path, flag: str = "--adapter", alternative: str = "") -> Path:
    """`adapter` as a Path, or a one-line error naming the option (`flag`) it came from when the
    folder holds no PEFT LoRA adapter. `alternative`: what else the option accepts."""
    folder = Path(adapter).expanduser()
    if not is_adapter_dir(folder):
        raise TooltuneError(f"{flag} {adapter}: no LoRA adapter there (no {ADAPTER_CONFIG}); pass a PEFT LoRA folder "
                            f"(the --out folder of `tooltune train --lora`){alternative}")
    return folder


def split_source(path: str | Path | None) -> tuple[str, dict[str, Any]]:
    """A GGUF file loads as (its folder, gguf_file=name); anything else is a model folder.
    `None` means the embedded SmolLM2."""
    p = Path(path or embedded_model_path()).expanduser()
    if not p.exists():
        raise TooltuneError(f"model {path} not found: pass a Hugging Face model folder or a .gguf file (nothing is downloaded)")
    if p.is_file():
        if p.suffix != ".gguf":
            raise TooltuneError(f"{path} is a file but not a .gguf: pass a .gguf file or a model folder")
        return str(p.parent), {"gguf_file": p.name}
    return str(p), {}


def _fast_source(path: str | Path | None) -> tuple[str, dict[str, Any]]:
    """Like `split_source`, but a GGUF is served from its cached fp32 folder (made first when
    missing), which loads in about a second instead of ~20 s of de-quantisation."""
    from tooltune.llm import weights_cache

    source, extra = split_source(path)
    if not extra:
        return source, extra
    folder = weights_cache.fp32_folder(Path(source) / extra["gguf_file"])
    if folder is not None:
        return str(folder), {}
    return source, extra


def load_tokenizer(path: str | Path | None = None) -> Any:
    """Only the tokenizer (seconds, no weights), with a pad token set."""
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    source, extra = split_source(path)
    if extra:
        from tooltune.llm.weights_cache import tokenizer_folder

        folder = tokenizer_folder(Path(source) / extra["gguf_file"])
        source, extra = (str(folder), {}) if folder else (source, extra)
    tokenizer = AutoTokenizer.from_pretrained(source, **extra)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_weights(path: str | Path | None = None, dtype: Any = None, **model_kwargs: Any) -> Any:
    """A fresh model, without its tokenizer. GGUF weights are de-quantized to fp32 (once, then
    cached) unless `dtype` says otherwise; a model folder keeps its own dtype ("auto")."""
    import torch
    from transformers import AutoModelForCausalLM

    is_gguf = bool(split_source(path)[1])
    source, extra = _fast_source(path)
    if dtype is None:
        dtype = torch.float32 if is_gguf else "auto"
    return AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **extra, **model_kwargs)


def load_pretrained(path: str | Path | None = None, dtype: Any = None, **model_kwargs: Any) -> tuple[Any, Any]:
    """A fresh (model, tokenizer); see `load_weights`."""
    return load_weights(path, dtype, **model_kwargs), load_tokenizer(path)


def apply_adapter(model: Any, adapter: str | Path, flag: str = "--adapter") -> Any:
    """Apply a PEFT LoRA folder and merge it into the weights: a plain model again, exact, and
    as fast as the base at run time."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(require_adapter(adapter, flag))).merge_and_unload()


def attach_adapter(model: Any, adapter: str | Path, flag: str = "--adapter") -> Any:
    """Wrap `model` with a PEFT LoRA folder whose layers keep training (DPO from an SFT adapter)."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, str(require_adapter(adapter, flag)), is_trainable=True)


def load_with_adapter(path: str | Path | None, adapter: str | Path | None, *, cached: bool = True) -> tuple[Any, Any]:
    """A fresh (model, tokenizer) of the base at `path` with `adapter` (when given) merged in.
    `cached`: a GGUF base merged with an adapter is read from (or first written to) the
    weights cache (`merged_source`); False always merges afresh."""
    if adapter:
        require_adapter(adapter)
    merged = merged_source(str(path or embedded_model_path()), str(adapter)) if adapter and cached else None
    if merged is not None:
        import torch
        from transformers import AutoModelForCausalLM

        return AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32), load_tokenizer(path)
    model, tokenizer = load_pretrained(path)
    return (apply_adapter(model, adapter) if adapter else model), tokenizer


def merged_source(path: str, adapter: str | None) -> str | None:
    """The cached folder of a GGUF with `adapter` merged in (made on first use), or None when
    there is no adapter, the base is not a GGUF, or the cache is off."""
    if not adapter or not path.endswith(".gguf"):
        return None
    from tooltune.llm import weights_cache

    def write(folder: Path) -> None:
        model, _ = load_pretrained(path)
        apply_adapter(model, adapter).save_pretrained(folder, safe_serialization=True)

    found = weights_cache.merged_folder(Path(path), Path(adapter), write)
    return str(found) if found else None
