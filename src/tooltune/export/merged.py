"""The model `export-model` writes out: a base with its LoRA adapter merged into the weights, on
top of `tooltune.llm.embedded.resolve_model` (the one place model names are resolved)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tooltune.llm.loading import load_with_adapter


def resolve(name: str | None) -> tuple[str, str | None]:
    """(base model path, adapter folder or None): the one name resolution, `resolve_model`."""
    from tooltune.llm.embedded import resolve_model

    return resolve_model(name)


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
