"""Long-term memory: past tasks, answers, notes and tool results in one SQLite file (WAL mode,
like the corpus store: a committed row survives a crash), found again by BM25 (rank-bm25,
offline). Freshness is per tool (`Tool.ttl` / `Tool.time_sensitive`): a remembered result of a
time-sensitive tool is never reused, one with a ttl only while younger than it.

The model reaches memory through ordinary tools (`memory_search`, `memory_save`,
`memory_update`), so the same loop, corpus, training and evaluation cover it; the agent can also
look memory up before a run (`Agent(memory=…, auto_memory=True)`), written into the trajectory as
a `memory_search` call and its result — a canonical sample like any other.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.messages import Message, ToolCall
from tooltune.tools import Tool, ToolRegistry
from tooltune.tools.builtins.search import tokenize

SCHEMA = """
CREATE TABLE IF NOT EXISTS memories (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,            -- task | note | result
    text TEXT NOT NULL,
    tool TEXT,                     -- for results: the tool and its canonical arguments
    arguments TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS memories_call ON memories(tool, arguments);
"""


@dataclass
class Memory:
    id: int
    kind: str
    text: str
    tool: str | None
    arguments: str | None
    created: float
    updated: float


def is_fresh(memory: Memory, tool: Tool | None, now: float) -> bool:
    """May this remembered tool result be reused now? Notes and tasks always may."""
    if memory.kind != "result" or tool is None:
        return True
    if tool.time_sensitive:
        return False
    return tool.ttl is None or now - memory.created < tool.ttl


def canonical_arguments(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, sort_keys=True, ensure_ascii=False, default=str)


class MemoryStore:
    def __init__(self, path: str | Path, clock: Any = time.time) -> None:
        self.path = Path(path)
        self.clock = clock  # injectable, so freshness tests need no sleeping
        if self.path.parent and not self.path.parent.exists():
            raise TooltuneError(f"memory store {self.path}: folder {self.path.parent} does not exist")
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout=5000")
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise TooltuneError(f"memory store {self.path}: not a usable SQLite file ({exc})") from None
        self._lock = threading.Lock()  # parallel tool calls may save at once

    def close(self) -> None:
        self._conn.close()

    # -- writing --------------------------------------------------------------------------------
    def save(self, text: str, kind: str = "note", tool: str | None = None, arguments: dict[str, Any] | None = None) -> int:
        now = self.clock()
        args = canonical_arguments(arguments) if arguments is not None else None
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO memories(kind, text, tool, arguments, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                (kind, text, tool, args, now, now),
            )
        return int(cur.lastrowid or 0)

    def update(self, memory_id: int, text: str) -> bool:
        with self._lock:
            cur = self._conn.execute("UPDATE memories SET text = ?, updated = ? WHERE id = ?", (text, self.clock(), memory_id))
        return cur.rowcount == 1

    # -- reading --------------------------------------------------------------------------------
    def all(self) -> list[Memory]:
        with self._lock:
            rows = self._conn.execute("SELECT id, kind, text, tool, arguments, created, updated FROM memories ORDER BY id").fetchall()
        return [Memory(*r) for r in rows]

    def get(self, memory_id: int) -> Memory | None:
        return next((m for m in self.all() if m.id == memory_id), None)

    def search(self, query: str, k: int = 3, tools: ToolRegistry | None = None) -> list[Memory]:
        """The k memories most similar to `query` (BM25), leaving out stale tool results."""
        from rank_bm25 import BM25Okapi

        now = self.clock()
        memories = [m for m in self.all() if is_fresh(m, _tool(tools, m.tool), now)]
        terms = tokenize(query)
        if not memories or not terms:
            return []
        docs = [tokenize(" ".join(filter(None, [m.text, m.tool, m.arguments]))) or ["_"] for m in memories]
        scores = BM25Okapi(docs).get_scores(terms)
        ranked = sorted(range(len(memories)), key=lambda i: (-scores[i], -memories[i].id))
        # BM25's idf is 0 for a term in half of a tiny corpus: any overlap counts, not only score > 0
        hits = [i for i in ranked if scores[i] > 0 or set(terms) & set(docs[i])]
        return [memories[i] for i in hits[:k]]

    def recall_result(self, tool: Tool, arguments: dict[str, Any]) -> Memory | None:
        """The newest remembered result of exactly this call, if it is still fresh."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id, kind, text, tool, arguments, created, updated FROM memories "
                "WHERE kind = 'result' AND tool = ? AND arguments = ? ORDER BY id DESC LIMIT 1",
                (tool.name, canonical_arguments(arguments)),
            ).fetchone()
        memory = Memory(*row) if row else None
        return memory if memory and is_fresh(memory, tool, self.clock()) else None


def _tool(tools: ToolRegistry | None, name: str | None) -> Tool | None:
    return tools.get(name) if tools is not None and name and name in tools else None


def format_memories(memories: list[Memory], now: float) -> str:
    if not memories:
        return "no matching memories"
    lines = []
    for m in memories:
        age = _age(now - m.created)
        source = f" from {m.tool}({m.arguments})" if m.tool else ""
        lines.append(f"[{m.id}] ({m.kind}{source}, {age} ago) {m.text}")
    return "\n".join(lines)


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{max(seconds, 0):.0f}s"


def memory_tools(store: MemoryStore, tools: ToolRegistry | None = None) -> list[Tool]:
    """`memory_search`, `memory_save`, `memory_update` bound to `store`; `tools` gives the
    freshness settings of remembered tool results."""

    def memory_search(query: str, k: int = 3) -> str:
        """Search long-term memory (past tasks, answers, notes and tool results) for something relevant.

        Args:
            query: What to look for, in a few keywords.
            k: How many memories to return (1-10).
        """
        return format_memories(store.search(query, max(1, min(int(k), 10)), tools), store.clock())

    def memory_save(text: str) -> str:
        """Save a fact or result to long-term memory so later tasks can reuse it.

        Args:
            text: The fact to remember, self-contained (say what it is about).
        """
        return f"saved as memory {store.save(text, 'note')}"

    def memory_update(memory_id: int, text: str) -> str:
        """Replace the text of a memory that is wrong or out of date.

        Args:
            memory_id: The number shown in brackets by memory_search.
            text: The corrected text.
        """
        if not store.update(memory_id, text):
            raise ValueError(f"there is no memory {memory_id}; use memory_search to find its number")
        return f"memory {memory_id} updated"

    return [Tool.from_function(f) for f in (memory_search, memory_save, memory_update)]


def lookup_messages(store: MemoryStore, task: str, tools: ToolRegistry | None, k: int = 3) -> list[Message]:
    """The automatic lookup before a run, written as the canonical `memory_search` call the model
    could have made and its result; empty when memory holds nothing relevant."""
    hits = store.search(task, k, tools)
    if not hits:
        return []
    call = ToolCall("memory_search", {"query": task})
    return [
        Message("assistant", None, tool_calls=[call]),
        Message("tool", format_memories(hits, store.clock()), tool_call_id=call.id, name="memory_search"),
    ]
