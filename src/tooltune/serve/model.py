"""Model names and adapters for `serve` and `export-model`.

`make_llm(model, adapter=…)` and `tooltune.llm.embedded.resolve_model` belong to the infer branch.
Until they exist here, `_resolve` and `_peft_llm` stand in for them; both are small and marked
so they can be dropped once infer is merged.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.llm import make_llm
from tooltune.llm.base import LLM


def resolve(name: str | None) -> tuple[str | None, str | None]:
    """(base model path or None for the embedded GGUF, adapter folder or None)."""
    try:
        from tooltune.llm.embedded import resolve_model  # infer branch
    except ImportError:
        return _resolve(name)
    base, adapter = resolve_model(name)
    return (str(base) if base else None), (str(adapter) if adapter else None)


def _resolve(name: str | None) -> tuple[str | None, str | None]:  # drop once infer is merged
    if name in (None, "embedded", "embedded-base"):
        shipped = Path(__file__).resolve().parent.parent / "llm" / "adapters" / "smollm2-tools"
        adapter = str(shipped) if name != "embedded-base" and (shipped / "adapter_config.json").exists() else None
        return None, adapter
    return name, None


def load_llm(model: str | None, adapter: str | None) -> LLM:
    """The backend for `tooltune serve`: make_llm, with the adapter applied on top."""
    _check_adapter(adapter)
    if "adapter" in inspect.signature(make_llm).parameters:  # infer branch: it resolves names itself
        return make_llm(model, adapter=adapter)
    base, shipped = resolve(model)
    adapter = adapter or shipped
    if adapter is None:
        return make_llm(base)
    return _peft_llm(base, adapter)


def _peft_llm(base: str | None, adapter: str) -> LLM:  # drop once infer is merged
    from tooltune.llm.transformers_backend import TransformersLLM

    model, tokenizer = load_merged(base, adapter)
    return TransformersLLM(model_obj=model.eval(), tokenizer=tokenizer)


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
