"""The backend `tooltune serve` answers with: `make_llm`, with a LoRA adapter on top."""

from __future__ import annotations

from tooltune.llm import make_llm
from tooltune.llm.base import LLM
from tooltune.llm.loading import require_adapter


def load_llm(model: str | None, adapter: str | None, weights: str = "fp32") -> LLM:
    """The backend for `tooltune serve`: make_llm, with the adapter applied on top."""
    if adapter:
        require_adapter(adapter)
    return make_llm(model, adapter=adapter, weights=weights)
