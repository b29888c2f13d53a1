"""The general-chat check: with tools offered, does a model still answer plain knowledge and
small-talk questions, or does it refuse ("I don't have a tool for that") or call a tool?

v2's adapter learnt refusal for every request no tool fits and lost what the base model knew.
Each held-out question (corpus_v3.knowledge_check_items: never trained on) is asked with three
tools offered that have nothing to do with it (seeded per question, from the bank's held-out side
by default). Verdicts: `answered` (text, no refusal), `refused` (text matching REFUSAL), `called`
(a tool call), `invalid` (unparseable). The automatic verdict was checked against hand ratings
(docs/results.md, "The chat check"); the base model's answer is kept beside each row for reading.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

from tooltune.agent import Agent
from tooltune.formats import get_format
from tooltune.llm.base import LLM
from tooltune.messages import Message
from tooltune.tools import Tool, ToolRegistry

# What a refusal looks like, en and zh. One owner: the distillation script filters with it too.
REFUSAL = re.compile(r"I (can't|cannot|don't have|am unable|'m unable|do not have)|none of the (available )?tools|as an AI|"
                     r"无法|抱歉|不能回答|没有.{0,8}工具|现有的工具", re.I)


def verdict(kind: str, text: str) -> str:
    if kind == "tool_calls":
        return "called"
    if kind == "invalid":
        return "invalid"
    return "refused" if REFUSAL.search(text) else "answered"


def offered_tools(question: str, pool: list[dict[str, Any]], k: int = 3) -> list[dict[str, Any]]:
    """k tool specs for a question, the same every run (seeded by the question)."""
    return random.Random(question).sample(pool, k)


def chat_check(llm: LLM, items: list[dict[str, str]], pool: list[dict[str, Any]], fmt: str = "json",
               max_tokens: int = 128, batch_size: int = 8) -> dict[str, Any]:
    """Ask every item with tools offered; the counts per verdict and every row."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start:start + batch_size]
        agents = []
        for it in chunk:
            registry = ToolRegistry([Tool.from_openai(s) for s in offered_tools(it["q"], pool)])
            agents.append(Agent(llm, registry, get_format(fmt, it["lang"]), it["lang"], max_tokens=max_tokens))
        outcomes = llm.complete_each([a.request([Message("user", it["q"])]) for a, it in zip(agents, chunk)])
        for agent, it, out in zip(agents, chunk, outcomes):
            if isinstance(out, Exception):
                rows.append({**it, "verdict": "error", "text": str(out)})
                continue
            parsed = agent.parse(out)
            text = parsed.content if parsed.kind == "final" and parsed.content else out.text
            rows.append({**it, "verdict": verdict(parsed.kind, text), "text": text.strip(),
                         "calls": [c.name for c in parsed.calls] if parsed.kind == "tool_calls" else []})
    counts = Counter(r["verdict"] for r in rows)
    return {"items": len(rows), **{k: counts.get(k, 0) for k in ("answered", "refused", "called", "invalid", "error")}, "rows": rows}
