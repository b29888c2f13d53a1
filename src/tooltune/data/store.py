"""The corpus store: one SQLite file (WAL mode) holding questions, samples and every edit.

Why SQLite: one `corpus.db` is the unit of work, it survives a crash or a `kill -9` (each write is
one transaction; WAL + synchronous=FULL means a committed row is on disk before `commit` returns,
and an interrupted transaction simply never appears), and several processes — a rollout, the
annotation page, a training run — can read and write it at once (readers never block the writer;
writers wait up to `busy_timeout` for each other).

Samples are stored in the canonical OpenAI shape (`Sample.to_openai()`), never in another schema.
Every change to a sample — its messages, status, human score and comment, judge verdict, error or
meta — bumps its `revision` and appends a full snapshot to `revisions` with who made it, when,
and which fields changed, so any edit can be audited or undone and preference pairs can be built
from what a person changed in a model-written step. Queries never write. `revise(expected_revision=)`
is optimistic locking: an editor that loaded revision 3 cannot silently overwrite revision 4.

Authors: `rollout` and `model:<name>` mark versions a model wrote; `imported` / `generated` mark
data from elsewhere; any other author is a person.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tooltune.data.revisions import (REVISED_FIELDS, REVISION_COLUMNS, STATUSES, Revision, check_status, checked_fields, dump,
                                     insert_revision, is_human_author, is_model_author)
from tooltune.data.rows import StoredQuestion, StoredSample, question_from_row, sample_from_row
from tooltune.errors import TooltuneError
from tooltune.messages import Sample

__all__ = ["STATUSES", "QUESTION_KINDS", "REVISED_FIELDS", "Revision", "StaleRevisionError", "Store", "StoredQuestion",
           "StoredSample", "is_human_author", "is_model_author"]

QUESTION_KINDS = ("positive", "negative")
_PAGE = 500  # rows fetched per query while iterating, so no read transaction stays open

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,
    norm TEXT NOT NULL UNIQUE,
    lang TEXT,
    kind TEXT NOT NULL DEFAULT 'positive',
    tools TEXT NOT NULL DEFAULT '[]',
    judge_verdict TEXT,
    judge_reason TEXT,
    source TEXT NOT NULL DEFAULT 'generated',
    status TEXT NOT NULL DEFAULT 'draft',
    meta TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY,
    question_id INTEGER REFERENCES questions(id),
    data TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft',
    source TEXT NOT NULL DEFAULT 'imported',
    expect_tool_call INTEGER,
    lang TEXT,
    human_score INTEGER,
    human_comment TEXT NOT NULL DEFAULT '',
    judge_verdict TEXT,
    judge_reason TEXT,
    error TEXT,
    revision INTEGER NOT NULL DEFAULT 1,
    meta TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS revisions (
    id INTEGER PRIMARY KEY,
    sample_id INTEGER NOT NULL REFERENCES samples(id),
    revision INTEGER NOT NULL,
    data TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at REAL NOT NULL,
    UNIQUE (sample_id, revision)
);
CREATE INDEX IF NOT EXISTS revisions_author ON revisions(author);
CREATE INDEX IF NOT EXISTS samples_status ON samples(status);
CREATE INDEX IF NOT EXISTS samples_question ON samples(question_id);
CREATE INDEX IF NOT EXISTS questions_status ON questions(status, kind);
"""


class StaleRevisionError(TooltuneError):
    """Someone else saved the sample since it was loaded: reload it and re-apply the edit."""

    def __init__(self, message: str, current: int = 0) -> None:
        super().__init__(message)
        self.current = current


class Store:
    """A `corpus.db`. Thread-safe within a process (one lock around one connection) and safe
    across processes (SQLite locking). Every write method is one atomic transaction."""

    def __init__(self, path: str | Path = "corpus.db", timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise TooltuneError(f"{self.path} is a folder: pass a .db file path, e.g. corpus.db")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None, check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            with self._lock_free_tx():
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    self._conn.execute(statement)
                have = {r["name"] for r in self._conn.execute("PRAGMA table_info(revisions)")}
                for column, decl in REVISION_COLUMNS.items():
                    if column not in have:  # a store made before revisions kept the whole state
                        self._conn.execute(f"ALTER TABLE revisions ADD COLUMN {column} {decl}")
        except sqlite3.DatabaseError as exc:
            raise TooltuneError(f"{self.path} is not a tooltune corpus database ({exc}): pass another --db path") from None
        self._lock = threading.RLock()

    # -- plumbing -----------------------------------------------------------------------------
    @contextmanager
    def _lock_free_tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT: all of it lands, or (on any error, crash, Ctrl-C) none of it."""
        with self._lock, self._lock_free_tx() as conn:
            yield conn

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- questions ----------------------------------------------------------------------------
    def add_questions(self, items: Iterable[dict[str, Any]]) -> list[int | None]:
        """Insert questions in one transaction; each item has `text`, `norm` (the dedupe key) and
        optional lang/kind/tools/source/meta. An item whose `norm` is stored already gets None."""
        now = time.time()
        ids: list[int | None] = []
        with self.transaction() as conn:
            for q in items:
                kind = q.get("kind", "positive")
                if kind not in QUESTION_KINDS:
                    raise TooltuneError(f"unknown question kind {kind!r}: use positive or negative")
                cur = conn.execute(
                    "INSERT OR IGNORE INTO questions (text, norm, lang, kind, tools, source, status, meta, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?)",
                    (q["text"], q["norm"], q.get("lang"), kind, dump(q.get("tools") or []), q.get("source", "generated"),
                     dump(q.get("meta") or {}), now, now),
                )
                ids.append(cur.lastrowid if cur.rowcount else None)
        return ids

    def add_question(self, text: str, norm: str | None = None, **fields: Any) -> int | None:
        return self.add_questions([{"text": text, "norm": norm or text, **fields}])[0]

    def questions(self, status: str | None = None, kind: str | None = None, judged: bool | None = None,
                  lang: str | None = None) -> Iterator[StoredQuestion]:
        where, params = ["1=1"], []
        for column, value in (("status", status), ("kind", kind), ("lang", lang)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if judged is not None:
            where.append("judge_verdict IS NOT NULL" if judged else "judge_verdict IS NULL")
        for row in self._paged("questions", " AND ".join(where), params):
            yield question_from_row(row)

    def question_norms(self) -> list[tuple[str, str | None]]:
        """(normalised text, lang) of every stored question: the dedupe memory of `generate`."""
        return [(r["norm"], r["lang"]) for r in self._query("SELECT norm, lang FROM questions")]

    def set_question_verdicts(self, verdicts: Iterable[tuple[int, str, str, str]]) -> None:
        """(question id, verdict, reason, status) for a batch of judged questions, in one transaction."""
        now = time.time()
        with self.transaction() as conn:
            for qid, verdict, reason, status in verdicts:
                check_status(status)
                conn.execute("UPDATE questions SET judge_verdict=?, judge_reason=?, status=?, updated_at=? WHERE id=?",
                             (verdict, reason, status, now, qid))

    def _paged(self, table: str, where: str, params: list[Any]) -> Iterator[sqlite3.Row]:
        last = 0
        while True:
            rows = self._query(f"SELECT * FROM {table} WHERE ({where}) AND id > ? ORDER BY id LIMIT {_PAGE}", [*params, last])
            yield from rows
            if len(rows) < _PAGE:
                return
            last = rows[-1]["id"]

    # -- samples ------------------------------------------------------------------------------
    def add_sample(self, sample: Sample, status: str = "draft", source: str = "imported", question_id: int | None = None,
                   expect_tool_call: bool | None = None, lang: str | None = None, meta: dict[str, Any] | None = None,
                   error: str | None = None, judge_verdict: str | None = None, judge_reason: str | None = None,
                   author: str | None = None) -> int:
        return self.add_samples([dict(sample=sample, status=status, source=source, question_id=question_id,
                                      expect_tool_call=expect_tool_call, lang=lang, meta=meta, error=error,
                                      judge_verdict=judge_verdict, judge_reason=judge_reason, author=author)])[0]

    def add_samples(self, items: Iterable[dict[str, Any]]) -> list[int]:
        """Insert many samples (keyword dicts as for `add_sample`) in ONE transaction; each gets
        revision 1, authored by the item's `author` (default: its source)."""
        now = time.time()
        ids = []
        with self.transaction() as conn:
            for item in items:
                status = item.get("status") or "draft"
                check_status(status)
                expect = item.get("expect_tool_call")
                data = item["sample"].to_json()
                cur = conn.execute(
                    "INSERT INTO samples (question_id, data, status, source, expect_tool_call, lang, judge_verdict, judge_reason,"
                    " error, meta, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (item.get("question_id"), data, status, item.get("source") or "imported",
                     None if expect is None else int(bool(expect)), item.get("lang"), item.get("judge_verdict"),
                     item.get("judge_reason"), item.get("error"), dump(item.get("meta") or {}), now, now),
                )
                row = conn.execute("SELECT * FROM samples WHERE id = ?", (cur.lastrowid,)).fetchone()
                insert_revision(conn, row, item.get("author") or item.get("source") or "imported", ["created"], now)
                ids.append(cur.lastrowid)
        return ids

    def samples(self, status: str | None = None, source: str | None = None, search: str | None = None,
                question_id: int | None = None) -> Iterator[StoredSample]:
        """Samples by status / source / question; `search` keeps those whose messages or tools
        contain the text (case-insensitive for ASCII)."""
        where, params = ["1=1"], []
        if status is not None:
            check_status(status)
        for column, value in (("status", status), ("source", source), ("question_id", question_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if search:
            where.append("data LIKE ? ESCAPE '\\'")
            params.append("%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        for row in self._paged("samples", " AND ".join(where), params):
            yield sample_from_row(row)

    def get_sample(self, sample_id: int) -> StoredSample:
        rows = self._query("SELECT * FROM samples WHERE id = ?", [sample_id])
        if not rows:
            raise TooltuneError(f"no sample with id {sample_id} in {self.path}")
        return sample_from_row(rows[0])

    def revise(self, sample_id: int, *, author: str = "human", expected_revision: int | None = None,
               sample: Sample | None = None, **fields: Any) -> int:
        """Change a sample's messages and/or fields (status, human_score, human_comment,
        judge_verdict, judge_reason, error, meta) as ONE new revision; returns its number.
        With `expected_revision`, refuse (StaleRevisionError) if someone saved since. A change
        that changes nothing adds no revision."""
        values = checked_fields(fields)
        if sample is not None:
            values["data"] = sample.to_json()
        now = time.time()
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM samples WHERE id = ?", (sample_id,)).fetchone()
            if row is None:
                raise TooltuneError(f"no sample with id {sample_id} in {self.path}")
            if expected_revision is not None and row["revision"] != expected_revision:
                raise StaleRevisionError(
                    f"sample {sample_id} is at revision {row['revision']}, not {expected_revision}: "
                    "someone saved it meanwhile; reload it and apply your edit again", row["revision"])
            changed = {k: values[k] for k in ("data", *REVISED_FIELDS) if k in values and row[k] != values[k]}
            if not changed:
                return row["revision"]
            revision = row["revision"] + 1
            columns = ", ".join(f"{k} = ?" for k in changed)
            conn.execute(f"UPDATE samples SET {columns}, revision = ?, updated_at = ? WHERE id = ?",
                         (*changed.values(), revision, now, sample_id))
            new_row = conn.execute("SELECT * FROM samples WHERE id = ?", (sample_id,)).fetchone()
            insert_revision(conn, new_row, author, ["messages" if k == "data" else k for k in changed], now)
        return revision

    def update_sample(self, sample_id: int, sample: Sample, expected_revision: int | None = None, author: str = "human",
                      **fields: Any) -> int:
        """Replace a sample's messages (and optionally fields) as a new revision; see `revise`."""
        return self.revise(sample_id, author=author, expected_revision=expected_revision, sample=sample, **fields)

    def revisions(self, sample_id: int) -> list[Revision]:
        """Every saved version of a sample, oldest first."""
        rows = self._query("SELECT * FROM revisions WHERE sample_id = ? ORDER BY revision", [sample_id])
        return [Revision(r["revision"], Sample.from_openai(json.loads(r["data"])), r["author"], r["created_at"],
                         json.loads(r["changes"] or "[]"), r["status"], r["human_score"], r["human_comment"] or "",
                         json.loads(r["meta"] or "{}")) for r in rows]

    def undo(self, sample_id: int, author: str = "human", expected_revision: int | None = None) -> int:
        """Bring back the version before the latest one — as a new revision, so the undone one
        stays in the history. Raises when there is nothing to undo."""
        rows = self._query("SELECT * FROM revisions WHERE sample_id = ? ORDER BY revision DESC LIMIT 2", [sample_id])
        if len(rows) < 2:
            raise TooltuneError(f"sample {sample_id} has no earlier version to go back to")
        prev = rows[1]
        fields: dict[str, Any] = {}
        if prev["status"] is not None:  # a revision that kept the whole state, not only the messages
            fields = {k: prev[k] for k in REVISED_FIELDS}
            fields.update(meta=json.loads(prev["meta"] or "{}"), human_comment=prev["human_comment"] or "")
        expected = rows[0]["revision"] if expected_revision is None else expected_revision
        return self.revise(sample_id, author=author, expected_revision=expected,
                           sample=Sample.from_openai(json.loads(prev["data"])), **fields)

    def set_status(self, sample_id: int, status: str, author: str = "human", expected_revision: int | None = None) -> int:
        return self.revise(sample_id, author=author, expected_revision=expected_revision, status=status)

    def set_human_score(self, sample_id: int, score: int | None, comment: str = "", author: str = "human",
                        expected_revision: int | None = None) -> int:
        return self.revise(sample_id, author=author, expected_revision=expected_revision, human_score=score, human_comment=comment)

    def set_sample_judgement(self, sample_id: int, verdict: str, reason: str = "", author: str = "judge") -> int:
        return self.revise(sample_id, author=author, judge_verdict=verdict, judge_reason=reason)

    def set_meta(self, sample_id: int, meta: dict[str, Any], author: str = "human") -> int:
        return self.revise(sample_id, author=author, meta=meta)

    # -- summaries ----------------------------------------------------------------------------
    def revised_sample_ids(self) -> list[int]:
        """Ids of samples changed since they were written (revision above 1), in id order."""
        return [r["id"] for r in self._query("SELECT id FROM samples WHERE revision > 1 ORDER BY id")]

    def question_ids_with_samples(self, source: str | None = None) -> set[int]:
        sql = "SELECT DISTINCT question_id FROM samples WHERE question_id IS NOT NULL"
        rows = self._query(sql + (" AND source = ?" if source else ""), [source] if source else [])
        return {r["question_id"] for r in rows}

    def counts(self) -> dict[str, dict[str, int]]:
        """{"questions": {"positive/draft": n, …}, "samples": {"draft": n, …}} for summaries."""
        q = self._query("SELECT kind, status, COUNT(*) AS n FROM questions GROUP BY kind, status")
        s = self._query("SELECT status, COUNT(*) AS n FROM samples GROUP BY status")
        return {"questions": {f"{r['kind']}/{r['status']}": r["n"] for r in q}, "samples": {r["status"]: r["n"] for r in s}}

    def human_scores(self, status: str | None = None) -> list[tuple[str, int | None]]:
        """(lang, human score or None) of every sample (with `status`): the rubric's raw data."""
        sql = "SELECT lang, human_score FROM samples" + (" WHERE status = ?" if status else "") + " ORDER BY id"
        return [(r["lang"] or "?", r["human_score"]) for r in self._query(sql, [status] if status else [])]

    def questions_without_samples(self, search: str | None = None) -> list[StoredQuestion]:
        """Questions no sample answers yet (the annotation queue's "new"), not those a judge rejected."""
        done = self.question_ids_with_samples()
        needle = (search or "").lower()
        return [q for q in self.questions() if q.id not in done and q.status != "rejected" and needle in q.text.lower()]
