"""Tool selection: with more tools registered than a small model's prompt should hold, offer the
top-k for the task. BM25 (rank-bm25, offline) over each tool's name, description and parameter
names and docs; the query is the task text. `tooltune run --max-tools K`.

Why BM25 and not embeddings: it needs no model download, works offline on the embedded path, and
tool descriptions are short keyword-rich texts where lexical match does well (recall@k is
measured by benchmarks/tool_selection.py on a held-out query set).
"""

from __future__ import annotations

import re
from typing import Any

from tooltune.tools import ToolRegistry
from tooltune.tools.builtins.search import tokenize
from tooltune.toolspec import tool_description, tool_name, tool_names, tool_parameters


def tool_document(spec: dict[str, Any]) -> list[str]:
    """The tokens a tool is found by: name parts, description, parameter names and their docs."""
    name = tool_name(spec)
    parts = [re.sub(r"[_\-.]+", " ", name), name, tool_description(spec)]
    for pname, pspec in (tool_parameters(spec).get("properties") or {}).items():
        parts += [re.sub(r"[_\-.]+", " ", pname), str(pspec.get("description", "")) if isinstance(pspec, dict) else ""]
    return tokenize(" ".join(parts))


class ToolSelector:
    """BM25 index over a fixed list of tool specs; rank them for a query."""

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        from rank_bm25 import BM25Okapi

        self.names = tool_names(specs)
        docs = [tool_document(s) for s in specs]
        self.bm25 = BM25Okapi([d or ["_"] for d in docs])

    def rank(self, query: str) -> list[str]:
        """All tool names, best first; ties keep registration order (stable sort)."""
        scores = self.bm25.get_scores(tokenize(query))
        return [self.names[i] for i in sorted(range(len(self.names)), key=lambda i: -scores[i])]

    def top(self, query: str, k: int) -> list[str]:
        return self.rank(query)[:k]


def select_tools(registry: ToolRegistry, query: str, k: int, always: tuple[str, ...] = ()) -> ToolRegistry | None:
    """The k tools of `registry` that best match `query`, in registry order, plus `always` (memory
    tools, which every task may use). None when the registry holds at most k tools: nothing is
    left out, and the caller offers the registry whole. The one place that compares the count."""
    if len(registry) <= k:
        return None
    candidates = [t for t in registry if t.name not in always]
    chosen = set(ToolSelector([t.to_openai() for t in candidates]).top(query, k))
    return ToolRegistry(t for t in registry if t.name in chosen or t.name in always)
