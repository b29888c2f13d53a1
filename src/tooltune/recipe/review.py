"""The human pass of the smollm2-tools recipe: the corpus rows in a tooltune store for the
annotation page, and the decisions a person made there read back for training.

The corpus stage writes OUT/corpus/corpus.db next to train.jsonl: one sample per row, in row order,
each remembering its row index in `meta["row"]`. `tooltune annotate --data OUT/corpus/corpus.db`
reviews them. The train stage then asks `human_decisions` which rows a person rejected (left out)
or edited (the edited messages replace the row's). train.jsonl itself never changes, so an
untouched store means the exact corpus the recipe built — a training run resuming from a
checkpoint sees the same rows in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tooltune.messages import Sample, read_jsonl

REVIEW_DB = "corpus.db"


def review_store(corpus_dir: Path, rows: list[dict[str, Any]] | None, log: Callable[[str], None]) -> None:
    """The corpus stage's human-pass step. `rows`: the corpus just built, written to a fresh store
    (--review); None: the corpus was built without --review, so a store of an earlier corpus is
    removed (its decisions name rows by index and would hit the wrong ones); []: --review after
    the corpus was built: write the store from train.jsonl unless it exists (it holds decisions)."""
    db = corpus_dir / REVIEW_DB
    if rows is None:
        if db.exists():
            for f in (db, *_wal_files(db)):
                f.unlink(missing_ok=True)
            log(f"[corpus] removed {db}: it reviewed an earlier corpus")
        log("[corpus] human pass (optional): rerun with --review to write corpus/corpus.db for `tooltune annotate --data`")
        return
    if rows or not db.exists():
        rows = rows or [obj for _, obj in read_jsonl(corpus_dir / "train.jsonl")]
        log(f"[corpus] wrote {write_review_store(db, rows)} rows to {db}")
    log(f"[corpus] human pass: tooltune annotate --data {db}  (rows you reject are left out of training, edited rows replace theirs)")


def write_review_store(path: Path, rows: list[dict[str, Any]]) -> int:
    """Write `rows` as draft samples of a fresh store at `path`, in one transaction; returns how many.

    Built under a temporary name and renamed into place, so a crash never leaves half a store
    that the train stage would read. A store of an earlier corpus is replaced: its reviews were of
    other rows."""
    from tooltune.data.store import Store

    tmp = path.with_name(path.name + ".tmp")
    for stale in (tmp, *_wal_files(tmp)):
        stale.unlink(missing_ok=True)
    items = [dict(sample=Sample.from_openai(row), status="draft", source=row.get("source") or "imported",
                  expect_tool_call=_calls_a_tool(row), lang=row.get("lang"), author="recipe",
                  meta={"row": i, **{k: row[k] for k in ("kinds",) if k in row}}) for i, row in enumerate(rows)]
    with Store(tmp) as store:
        store.add_samples(items)
    for stale in _wal_files(path):  # closing checkpointed tmp; an old store's WAL must not outlive it
        stale.unlink(missing_ok=True)
    tmp.replace(path)
    return len(items)


def human_decisions(path: Path) -> dict[int, dict[str, Any] | None]:
    """{row index: None (a person rejected it) or the row with the person's messages and tools}.

    Only samples with more than their first revision were touched; an edit counts when the
    messages or tools differ from what the recipe wrote (approving a row as it is changes nothing).
    No store, or an untouched one, gives {}."""
    from tooltune.data.store import Store

    if not path.exists():
        return {}
    decisions: dict[int, dict[str, Any] | None] = {}
    with Store(path) as store:
        for sample_id in store.revised_sample_ids():
            s = store.get_sample(sample_id)
            row = s.meta.get("row")
            if not isinstance(row, int):
                continue
            if s.status == "rejected":
                decisions[row] = None
                continue
            first = store.revisions(s.id)[0].sample
            if s.sample.to_json() != first.to_json():
                decisions[row] = s.sample.to_openai()
    return decisions


def apply_decisions(rows: list[dict[str, Any]], decisions: dict[int, dict[str, Any] | None]) -> dict[int, dict[str, Any] | None]:
    """The decisions as whole rows: an edit keeps the row's other keys (source, kinds, lang)."""
    return {i: None if new is None else {**rows[i], **new} for i, new in decisions.items() if 0 <= i < len(rows)}


def _calls_a_tool(row: dict[str, Any]) -> bool:
    return any(m.get("tool_calls") for m in row.get("messages", []) if m.get("role") == "assistant")


def _wal_files(db: Path) -> tuple[Path, Path]:
    return db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
