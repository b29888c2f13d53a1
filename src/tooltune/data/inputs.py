"""A training input: a .jsonl file (one row a line) or a corpus.db store, read the same way for
every kind of row (SFT samples, preference pairs): benchmark data refused, a missing file and an
empty input named with how to fix them, a bad line named by `file:line`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tooltune.data.benchmark_data import refuse_benchmark_data
from tooltune.data.store import Store
from tooltune.errors import TooltuneError
from tooltune.messages import read_jsonl

Row = TypeVar("Row")


def read_input(path: str | Path, from_store: Callable[[Store], list[Row]], from_line: Callable[[Any, str], Row],
               not_found: str, empty: str) -> list[Row]:
    """The rows of `path`: `from_store` reads a .db, `from_line(object, "file:line")` each line of
    anything else. `not_found` and `empty` are the two errors, with `{path}` where the path goes."""
    path = Path(path)
    refuse_benchmark_data(path)
    if not path.exists():
        raise TooltuneError(not_found.format(path=path))
    if path.suffix == ".db":
        with Store(path) as store:
            rows = from_store(store)
    else:
        rows = [from_line(obj, f"{path}:{lineno}") for lineno, obj in read_jsonl(path)]
    if not rows:
        raise TooltuneError(empty.format(path=path))
    return rows
