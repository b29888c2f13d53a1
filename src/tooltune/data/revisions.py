"""What a revision is: the sample fields it snapshots, who wrote it, and how one is written.

Split from store.py so the store stays readable; `Store` is still the only writer.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.messages import Sample

STATUSES = ("draft", "approved", "rejected")

# Snapshot columns a revision keeps besides the messages (added to stores made before they existed).
REVISED_FIELDS = ("status", "human_score", "human_comment", "judge_verdict", "judge_reason", "error", "meta")
REVISION_COLUMNS = {"status": "TEXT", "human_score": "INTEGER", "human_comment": "TEXT", "judge_verdict": "TEXT",
                     "judge_reason": "TEXT", "error": "TEXT", "meta": "TEXT", "changes": "TEXT NOT NULL DEFAULT '[]'"}


def is_model_author(author: str) -> bool:
    """True for versions a model wrote (a rollout, or a model step on the annotation page)."""
    return author == "rollout" or author.startswith("model:")


def is_human_author(author: str) -> bool:
    return not is_model_author(author) and author not in ("imported", "generated")


@dataclass
class Revision:
    """One saved version of a sample: the full state after the change, who made it, and what changed."""

    revision: int
    sample: Sample
    author: str
    created_at: float
    changes: list[str]
    status: str | None = None
    human_score: int | None = None
    human_comment: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def check_status(status: str) -> None:
    if status not in STATUSES:
        raise TooltuneError(f"unknown status {status!r}: use one of {', '.join(STATUSES)}")


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def checked_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the fields a revision may change and turn them into column values."""
    unknown = set(fields) - set(REVISED_FIELDS)
    if unknown:
        raise TypeError(f"cannot revise {', '.join(sorted(unknown))}: use {', '.join(REVISED_FIELDS)}")
    if "status" in fields:
        check_status(fields["status"])
    score = fields.get("human_score")
    if score is not None and (not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 5):
        raise TooltuneError(f"human score must be an integer 0..5 (0 = content violation), got {score!r}")
    if fields.get("human_comment") is None and "human_comment" in fields:
        fields = {**fields, "human_comment": ""}
    if "meta" in fields:
        fields = {**fields, "meta": dump(fields["meta"] or {})}
    return dict(fields)


def insert_revision(conn: sqlite3.Connection, row: sqlite3.Row, author: str, changes: list[str], now: float) -> None:
    """Append the sample's whole current state as revision `row["revision"]`."""
    conn.execute(
        "INSERT INTO revisions (sample_id, revision, data, author, created_at, status, human_score, human_comment,"
        " judge_verdict, judge_reason, error, meta, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (row["id"], row["revision"], row["data"], author, now, row["status"], row["human_score"], row["human_comment"],
         row["judge_verdict"], row["judge_reason"], row["error"], row["meta"], dump(changes)),
    )
