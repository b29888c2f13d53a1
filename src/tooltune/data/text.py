"""Text plumbing shared by generate and judge: plain chat requests, pulling questions out of
whatever list a model writes, and duplicate detection. (Their prompts live in tooltune/prompts/.)

Models — the embedded 135M one especially — write lists every which way: `1.`, `1)`, `1、`,
`(1)`, `Q1:`, bullets, bold, quotes, blank lines, a chatty header line. `split_questions` keeps
the questions and drops the rest. Duplicates are found on a normalised key (NFKC, case, spacing,
punctuation) and then near-duplicates with rapidfuzz, so "What time is it?" and "what time is it
now" are one question.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from rapidfuzz import fuzz, process

from tooltune.formats.base import Rendered, Segment, Turn
from tooltune.llm.base import GenerationRequest
from tooltune.messages import Message
from tooltune.toolspec import tool_description, tool_name


_LIST_MARK = re.compile(
    r"^\s*(?:[-*•·+>]+\s*|#+\s*"
    r"|(?:q(?:uestion)?|问题|问)?\s*[(（\[]?\s*(?:\d{1,3}|[一二三四五六七八九十]{1,3}|[①-⑳])\s*(?:[)）\]、:：]|[.．](?!\d))\s*"
    r"|(?:\d{1,3}|[①-⑳])\s+|(?:q(?:uestion)?|问题)\s*\d*\s*[:：.]\s*|[①-⑳]\s*)", re.I)
_NUMBER_ONLY = re.compile(r"^\s*(?:\d{1,3}|[一二三四五六七八九十]{1,3})\s*[.)）、:：．]\s*")
_QUOTES = "\"'“”‘’「」『』`"
_HEADER_END = (":", "：")
_DIGITS = re.compile(r"\d+")
_PUNCT = re.compile(r"[\W_]+", re.U)


def describe_tools(tools: list[dict[str, Any]]) -> str:
    """One line per tool (name: description) — enough for a question writer or a judge."""
    lines = []
    for spec in tools:
        lines.append(f"- {tool_name(spec)}: {tool_description(spec).strip()}")
    return "\n".join(lines)


def chat_request(prompt: str, max_tokens: int = 256, temperature: float = 0.0, system: str | None = None) -> GenerationRequest:
    """A plain one-turn chat request (no tool format) for question writing and judging."""
    turns = ([Turn("system", [Segment(system)])] if system else []) + [Turn("user", [Segment(prompt)])]
    return GenerationRequest(rendered=Rendered(turns), messages=[Message("user", prompt)], max_tokens=max_tokens,
                             temperature=temperature)


def clean_line(line: str) -> str:
    """Strip list markers, markdown emphasis and wrapping quotes from one line."""
    line = line.strip().replace("**", "").replace("__", "")
    for _ in range(2):  # "1. - Q1: text"
        line = _LIST_MARK.sub("", line, count=1).strip()
    if len(line) >= 2 and line[0] in _QUOTES and line[-1] in _QUOTES:
        line = line[1:-1].strip()
    return line


def split_questions(text: str, min_chars: int = 4, max_chars: int = 300) -> list[str]:
    """The questions in a model's reply, in order, without markers, headers or repeats."""
    # Numbered items sometimes share one line: "1. A? 2. B?" -> split before each number.
    text = re.sub(r"(?<=[?？.。!！])\s*(?=(?:\d{1,2}|[①-⑳])\s*[.)、．]\s*\S)", "\n", text.replace("\r", "\n"))
    out, seen = [], set()
    for raw in text.split("\n"):
        line = clean_line(raw)
        if not line or line.endswith(_HEADER_END) or _NUMBER_ONLY.fullmatch(raw.strip() + " "):
            continue
        if not (min_chars <= len(line) <= max_chars) or not any(ch.isalnum() for ch in line):
            continue
        key = normalize(line)
        if key and key not in seen:
            seen.add(key)
            out.append(line)
    return out


def normalize(text: str) -> str:
    """The dedupe key: NFKC, lower case, punctuation and spacing dropped."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _PUNCT.sub(" ", text).strip()


class Deduper:
    """Remembers normalised questions; `add` refuses exact and near duplicates (rapidfuzz ratio
    at or above `threshold` with the same numbers, per language, so an English and a Chinese question never collide)."""

    def __init__(self, existing: list[tuple[str, str | None]] = (), threshold: float = 85.0) -> None:
        self.threshold = threshold
        self._by_lang: dict[str | None, list[str]] = {}
        self._all: set[str] = set()
        for norm, lang in existing:
            self._remember(norm, lang)

    def _remember(self, norm: str, lang: str | None) -> None:
        self._all.add(norm)
        self._by_lang.setdefault(lang, []).append(norm)

    def duplicate_of(self, text: str, lang: str | None = None) -> str | None:
        key = normalize(text)
        if key in self._all:
            return key
        pool = self._by_lang.get(lang, [])
        digits = _DIGITS.findall(key)
        for candidate, _, _ in process.extract(key, pool, scorer=fuzz.ratio, score_cutoff=self.threshold, limit=5):
            if _DIGITS.findall(candidate) == digits:  # "12*13" and "12*14" are different questions
                return candidate
        return None

    def add(self, text: str, lang: str | None = None) -> str | None:
        """The normalised key if `text` is new (and now remembered), None if it is a duplicate."""
        if self.duplicate_of(text, lang) is not None:
            return None
        key = normalize(text)
        if not key:
            return None
        self._remember(key, lang)
        return key
