"""`tooltune import` / `tooltune export`: files in the wild <-> the store.

Reading accepts JSONL (one record a line) and JSON (an array of records, as LLaMA-Factory ships
them). A record that cannot be read is reported with its line (or array item) number and either
skipped or turned into an error (`on_error="skip"|"fail"`) — never dropped silently. Re-importing
a file skips records already stored (matched by file path and line / item number).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooltune.data.benchmark_data import refuse_benchmark_data
from tooltune.data.convert import READERS, WRITERS, detect_format
from tooltune.data.pairs import preference_pairs
from tooltune.data.store import Store
from tooltune.errors import TooltuneError
from tooltune.lang import dialogue_lang
from tooltune.messages import BadLine, Sample, iter_jsonl, write_jsonl_atomic


@dataclass
class ImportReport:
    added: int = 0
    already_stored: int = 0
    errors: list[str] = field(default_factory=list)
    formats: dict[str, int] = field(default_factory=dict)


def sample_hash(sample: Sample) -> str:
    return hashlib.sha1(sample.to_json().encode("utf-8")).hexdigest()


def read_records(path: str | Path) -> Iterator[tuple[str, Any]]:
    """(location, record or the exception that stopped reading it) for every record of the file."""
    path = Path(path)
    refuse_benchmark_data(path)
    if not path.is_file():
        raise TooltuneError(f"{path}: no such file")
    with path.open("rb") as fh:
        is_array = fh.read(4096).lstrip().startswith(b"[")
    if is_array:
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise TooltuneError(f"{path}:{exc.lineno}: the JSON array is not valid JSON ({exc.msg})") from None
        except UnicodeDecodeError as exc:
            raise TooltuneError(f"{path}: not UTF-8 at byte {exc.start}") from None
        for i, item in enumerate(items, 1):
            yield f"{path}: item {i}", item
        return
    for lineno, record in iter_jsonl(path):  # a bad line is reported; load_samples skips or fails
        yield f"{path}:{lineno}", ValueError(f"not valid JSON ({record.reason})") if isinstance(record, BadLine) else record


def load_samples(path: str | Path, fmt: str = "auto", on_error: str = "skip") -> Iterator[tuple[str, Sample | str, str]]:
    """(location, sample or error message, format) per record; raises on the first bad record
    when `on_error="fail"`."""
    if on_error not in ("skip", "fail"):
        raise TooltuneError(f"--on-error must be skip or fail, not {on_error!r}")
    if fmt != "auto" and fmt not in READERS:
        raise TooltuneError(f"unknown import format {fmt!r}: use auto or one of {', '.join(READERS)}")
    for where, record in read_records(path):
        try:
            if isinstance(record, Exception):
                raise record
            if not isinstance(record, dict):
                raise ValueError(f"expected a JSON object, got {type(record).__name__}")
            name = detect_format(record) if fmt == "auto" else fmt
            sample = READERS[name](record)
            if not any(m.role == "user" for m in sample.messages):
                raise ValueError("no user message")
            yield where, sample, name
        except (TooltuneError, ValueError, KeyError, TypeError, AttributeError) as exc:
            message = f"{where}: {exc.__class__.__name__ if not isinstance(exc, TooltuneError) else 'error'}: {exc}"
            if on_error == "fail":
                raise TooltuneError(message + " (use --on-error skip to skip bad records)") from None
            yield where, message, ""


def import_file(store: Store, path: str | Path, fmt: str = "auto", on_error: str = "skip", status: str = "draft",
                source: str = "imported", batch: int = 200) -> ImportReport:
    """Import every readable record; stored in transactions of `batch` samples."""
    report = ImportReport()
    origin = str(Path(path).resolve())
    known = {s.meta.get("from") for s in store.samples(source=source)}
    pending: list[dict[str, Any]] = []
    for where, sample, name in load_samples(path, fmt, on_error):
        if isinstance(sample, str):
            report.errors.append(sample)
            continue
        key = f"{origin}{where[len(str(path)):]}"  # the record's place in the file: identical records still import
        if key in known:
            report.already_stored += 1
            continue
        digest = sample_hash(sample)
        calls = any(m.tool_calls for m in sample.messages if m.role == "assistant")
        pending.append({"sample": sample, "status": status, "source": source, "expect_tool_call": calls,
                        "lang": dialogue_lang(sample.messages), "meta": {"sha1": digest, "from": key, "format": name}})
        report.formats[name] = report.formats.get(name, 0) + 1
        if len(pending) >= batch:
            report.added += len(store.add_samples(pending))
            pending = []
    if pending:
        report.added += len(store.add_samples(pending))
    return report


def export_file(store: Store, path: str | Path, fmt: str = "openai", statuses: tuple[str, ...] = ("approved",),
                with_errors: bool = False) -> int:
    """Write the chosen samples as JSONL in `fmt`, atomically; returns how many rows were written.
    `dpo` writes preference pairs from people's edits of model-written steps (see data/pairs.py)."""
    if fmt == "dpo":
        rows = [pair.to_trl() for pair in preference_pairs(store, statuses)]
        write_jsonl_atomic(path, rows)
        return len(rows)
    if fmt not in WRITERS:
        raise TooltuneError(f"unknown export format {fmt!r}: use one of {', '.join(WRITERS)}, dpo")
    rows = []
    for status in statuses:
        for stored in store.samples(status=status):
            if stored.error and not with_errors:
                continue
            rows.append(WRITERS[fmt](stored.sample))
    write_jsonl_atomic(path, rows)
    return len(rows)
