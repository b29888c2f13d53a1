"""Model names and adapters for `serve` and `export-model`, on top of `make_llm` and
`tooltune.llm.embedded.resolve_model` (the one place model names are resolved)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tooltune.llm import make_llm
from tooltune.llm.base import LLM
from tooltune.llm.loading import load_with_adapter, require_adapter


def resolve(name: str | None) -> tuple[str, str | None]:
    """(base model path, adapter folder or None): the one name resolution, `resolve_model`."""
    from tooltune.llm.embedded import resolve_model

    return resolve_model(name)


def load_llm(model: str | None, adapter: str | None, weights: str = "fp32") -> LLM:
    """The backend for `tooltune serve`: make_llm, with the adapter applied on top."""
    if adapter:
        require_adapter(adapter)
    return make_llm(model, adapter=adapter, weights=weights)


def load_merged(base: str | None, adapter: str | None) -> tuple[Any, Any]:
    """(model, tokenizer) with the LoRA adapter merged into the weights (exact, no adapter at run
    time), merged afresh: an export never reads the inference cache."""
    return load_with_adapter(base, adapter, cached=False)


def source_gguf(base: str | None) -> Path | None:
    """The GGUF whose tokenizer metadata a GGUF export reuses: the base itself when it is one."""
    from tooltune.llm.embedded import embedded_model_path

    if base is None:
        return embedded_model_path()
    return Path(base) if str(base).endswith(".gguf") else None
