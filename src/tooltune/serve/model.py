"""Model names and adapters for `serve` and `export-model`, on top of `make_llm` and
`tooltune.llm.embedded.resolve_model` (the one place model names are resolved)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.llm import make_llm
from tooltune.llm.base import LLM


def resolve(name: str | None) -> tuple[str, str | None]:
    """(base model path, adapter folder or None): the one name resolution, `resolve_model`."""
    from tooltune.llm.embedded import resolve_model

    return resolve_model(name)


def load_llm(model: str | None, adapter: str | None, weights: str = "fp32") -> LLM:
    """The backend for `tooltune serve`: make_llm, with the adapter applied on top."""
    _check_adapter(adapter)
    return make_llm(model, adapter=adapter, weights=weights)


def load_merged(base: str | None, adapter: str | None) -> tuple[Any, Any]:
    """(model, tokenizer) with the LoRA adapter merged into the weights (exact, no adapter at run time)."""
    from tooltune.llm.transformers_backend import load_pretrained

    _check_adapter(adapter)
    model, tokenizer = load_pretrained(base)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    return model, tokenizer


def _check_adapter(adapter: str | None) -> None:
    if adapter and not (Path(adapter) / "adapter_config.json").exists():
        raise TooltuneError(f"--adapter {adapter}: no adapter_config.json there; pass a PEFT LoRA folder (e.g. a training run's adapter/)")


def source_gguf(base: str | None) -> Path | None:
    """The GGUF whose tokenizer metadata a GGUF export reuses: the base itself when it is one."""
    from tooltune.llm.embedded import embedded_model_path

    if base is None:
        return embedded_model_path()
    return Path(base) if str(base).endswith(".gguf") else None
