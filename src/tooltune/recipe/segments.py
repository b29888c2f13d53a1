"""The train stage's log of its invocations (OUT/train/segments.jsonl): which steps ran on which
corpus. Training resumes across sessions, possibly on a rebuilt corpus (a new recipe version), so
the adapter's record says exactly what each range of steps saw."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from tooltune.recipe.state import read_done_file


def log_segment(corpus_dir: Path, train_dir: Path, first: int, last: int, version: int, minutes: float | None) -> None:
    """Append one line for steps first+1..last, with the corpus file's hash and episode weights."""
    digest = hashlib.sha256((corpus_dir / "train.jsonl").read_bytes()).hexdigest()[:12]
    info = read_done_file(corpus_dir)
    line = {"steps": [first + 1, last], "corpus_sha256": digest, "recipe_version": version,
            "episode_weights": info.get("episode_weights"), "minutes": minutes, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with open(train_dir / "segments.jsonl", "a", encoding="utf-8") as fh:  # append-only: a torn last line is skipped on read
        fh.write(json.dumps(line) + "\n")


def read_segments(train_dir: Path) -> list[dict[str, Any]]:
    path = train_dir / "segments.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
