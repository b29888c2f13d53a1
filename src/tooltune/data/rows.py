"""What the store's rows read back as: a question and a sample with their bookkeeping, made from a
SQLite row. Split from store.py so the store holds the SQL; `Store` makes these, nothing else does."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from tooltune.messages import Sample


@dataclass
class StoredQuestion:
    id: int
    text: str
    lang: str | None
    kind: str
    tools: list[dict[str, Any]]
    judge_verdict: str | None
    judge_reason: str | None
    source: str
    status: str
    meta: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0

    @property
    def expect_tool_call(self) -> bool:
        return self.kind == "positive"


@dataclass
class StoredSample:
    id: int
    sample: Sample
    status: str
    source: str
    expect_tool_call: bool | None
    lang: str | None
    human_score: int | None
    human_comment: str
    judge_verdict: str | None
    judge_reason: str | None
    revision: int
    meta: dict[str, Any]
    question_id: int | None = None
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0


def question_from_row(row: sqlite3.Row) -> StoredQuestion:
    return StoredQuestion(
        row["id"], row["text"], row["lang"], row["kind"], json.loads(row["tools"]), row["judge_verdict"],
        row["judge_reason"], row["source"], row["status"], json.loads(row["meta"]), row["created_at"],
    )


def sample_from_row(row: sqlite3.Row) -> StoredSample:
    expect = row["expect_tool_call"]
    return StoredSample(
        id=row["id"], sample=Sample.from_openai(json.loads(row["data"])), status=row["status"], source=row["source"],
        expect_tool_call=None if expect is None else bool(expect), lang=row["lang"], human_score=row["human_score"],
        human_comment=row["human_comment"], judge_verdict=row["judge_verdict"], judge_reason=row["judge_reason"],
        revision=row["revision"], meta=json.loads(row["meta"]), question_id=row["question_id"], error=row["error"],
        created_at=row["created_at"], updated_at=row["updated_at"],
    )
