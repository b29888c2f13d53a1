"""Configs filled by field name: one helper for every settings dataclass (`TrainConfig`,
`RecipeConfig`, `EvalSettings`, ...), without torch or typer so any layer may use it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

C = TypeVar("C")


def config_from(cls: type[C], values: Mapping[str, Any] | Any, /, **overrides: Any) -> C:
    """`cls(...)` from `values` — a command's parameters (a mapping) or another config (a
    dataclass) — taking every entry named like a field of `cls` as it is; `overrides` replace the
    ones the caller translates or fixes (e.g. `--full` -> `lora=False`). A new option that matches
    a field therefore needs no line at the call site."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    if is_dataclass(values) and not isinstance(values, type):
        values = {f.name: getattr(values, f.name) for f in fields(values)}
    picked = {k: v for k, v in values.items() if k in names}
    picked.update(overrides)
    return cls(**picked)
