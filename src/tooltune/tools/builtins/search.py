"""web_search with pluggable backends.

`local` (default) is an offline BM25 search over a folder of .txt/.md files the user points to
(each paragraph is a document), so agents and tests work without a network. `web` uses the
`ddgs` package (install `tooltune[web]`) for real web results.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from tooltune.errors import TooltuneError
from tooltune.tools.tool import Tool

DEFAULT_DOCS = Path(__file__).resolve().parent.parent / "docs"
_TOKEN = re.compile(r"[\w]+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens; CJK text is split per character so Chinese queries match too."""
    tokens: list[str] = []
    for tok in _TOKEN.findall(text.lower()):
        if re.search(r"[\u4e00-\u9fff]", tok):
            tokens.extend(ch for ch in tok)
        else:
            tokens.append(tok)
    return tokens


class LocalSearch:
    """BM25 over the paragraphs of every .txt / .md file below `folder`."""

    def __init__(self, folder: str | Path) -> None:
        from rank_bm25 import BM25Okapi

        folder = Path(folder)
        if not folder.is_dir():
            raise TooltuneError(f"search folder {folder} does not exist: pass --search-dir with a folder of .txt/.md files")
        self.passages: list[tuple[str, str]] = []
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in (".txt", ".md") and path.is_file():
                for para in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
                    if para.strip():
                        self.passages.append((path.name, para.strip()))
        if not self.passages:
            raise TooltuneError(f"search folder {folder} has no .txt or .md text to search")
        self.bm25 = BM25Okapi([tokenize(p) for _, p in self.passages])

    def search(self, query: str, k: int = 3) -> list[tuple[str, str]]:
        scores = self.bm25.get_scores(tokenize(query))
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
        return [self.passages[i] for i in ranked[:k] if scores[i] > 0]


@lru_cache(maxsize=8)
def _local_index(folder: str) -> LocalSearch:
    return LocalSearch(folder)


def _web_search(query: str, k: int) -> list[tuple[str, str]]:
    try:
        from ddgs import DDGS
    except ImportError:
        raise RuntimeError("the web backend needs the 'ddgs' package: pip install 'tooltune[web]'") from None
    return [(r.get("href", ""), f"{r.get('title', '')}: {r.get('body', '')}") for r in DDGS().text(query, max_results=k)]


def make_search(folder: str | Path | None = None, backend: str = "local") -> Callable[[str, int], list[tuple[str, str]]]:
    if backend == "web":
        return _web_search
    if backend != "local":
        raise TooltuneError(f"unknown search backend {backend!r}: use 'local' or 'web'")
    folder_str = str(Path(folder or DEFAULT_DOCS).resolve())
    return lambda query, k: _local_index(folder_str).search(query, k)


def web_search_tool(folder: str | Path | None = None, backend: str = "local") -> Tool:
    search = make_search(folder, backend)

    def web_search(query: str, top_k: int = 3) -> dict[str, list[dict[str, str]]]:
        """Search for information and return the most relevant passages.

        Args:
            query: What to look for, in a few keywords.
            top_k: How many passages to return (1-10).
        """
        hits = search(query, max(1, min(int(top_k), 10)))
        return {"results": [{"source": src, "text": text} for src, text in hits]}  # a JSON object, like every built-in's result

    return Tool.from_function(web_search, name="web_search", description="Search the web (or a local document folder) for information.")
