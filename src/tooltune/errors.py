"""User-facing errors.

A `TooltuneError` is a mistake the user can fix (a bad flag, a missing file, a malformed line).
The CLI prints its message on one line and exits 2 instead of showing a stack trace, so every
message should name what is wrong *and* how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class TooltuneError(Exception):
    """An error caused by user input, reported as one line without a traceback."""


class BackendError(TooltuneError):
    """A model server failed — a stream cut off without a finish_reason, a connection reset, a 5xx —
    even after retries. What it produced is not a model answer: callers must not score or parse it."""


@contextmanager
def located(where: str) -> Iterator[None]:
    """Prefixes a `TooltuneError` raised inside with the place it came from (`file:line`, `--tools
    x.json: tool #3`), so a message about one item of a file says which item."""
    try:
        yield
    except TooltuneError as exc:
        raise TooltuneError(f"{where}: {exc}") from None
