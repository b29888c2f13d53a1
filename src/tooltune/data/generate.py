"""`tooltune generate`: a language model writes questions that need the tools (and, as hard
negatives, questions on the same topics that need none), deduplicated into the store.

Resumable by construction: `count` is the number of generated questions of each kind and language
the store should *hold*, so a re-run after a crash or Ctrl-C only asks for what is missing, and
everything already stored (exact or near duplicate) is refused on the way in. Each round of
requests is one transaction, so an interrupted run keeps every finished round.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tooltune.data.store import Store
from tooltune.data.text import Deduper, chat_request, describe_tools, split_questions
from tooltune.errors import TooltuneError
from tooltune.llm.base import LLM
from tooltune.prompts import fill, fill_prompt, load_prompt


@dataclass
class GenerateReport:
    added: dict[str, int] = field(default_factory=lambda: {"positive": 0, "negative": 0})
    duplicates: int = 0
    rounds: int = 0
    target: dict[str, int] = field(default_factory=dict)
    held: dict[str, int] = field(default_factory=dict)


def split_counts(count: int, negatives: float) -> dict[str, int]:
    """`negatives` is the share of hard negatives in the total: 0.2 -> 4 positive : 1 negative."""
    if not 0 <= negatives < 1:
        raise TooltuneError(f"--negatives must be a share in [0, 1), e.g. 0.2 for 4:1; got {negatives}")
    if count < 1:
        raise TooltuneError("--count must be at least 1")
    n_neg = round(count * negatives)
    return {"positive": count - n_neg, "negative": n_neg}


def generate_questions(
    store: Store, llm: LLM, tools: list[dict[str, Any]], lang: str = "en", count: int = 20, negatives: float = 0.2,
    style: str | None = None, prompt: str | None = None, negative_prompt: str | None = None, batch_size: int = 4,
    per_request: int = 10, temperature: float = 0.8, max_tokens: int = 400, patience: int = 3,
    on_progress: Callable[[str, int], None] | None = None,
) -> GenerateReport:
    """Fill the store up to `count` generated questions (split by `negatives`) for `lang`."""
    if not tools:
        raise TooltuneError("no tools given: questions are written for a tool list (--tools)")
    templates = {"positive": load_prompt("generate", lang, prompt), "negative": load_prompt("negatives", lang, negative_prompt)}
    deduper = Deduper(store.question_norms())
    report = GenerateReport(target=split_counts(count, negatives))
    for kind, target in report.target.items():
        held = sum(1 for q in store.questions(kind=kind, lang=lang) if q.source == "generated")
        stale = 0
        while held < target and stale < patience:
            need = target - held
            n_requests = min(batch_size, max(1, math.ceil(need / per_request)))
            text = fill_prompt(templates[kind], tools=describe_tools(tools), count=min(per_request, need),
                               style=style or fill("generate_style", lang), question="")
            requests = [chat_request(text, max_tokens, temperature) for _ in range(n_requests)]
            completions = llm.complete_batch(requests)
            report.rounds += 1
            items = []
            for completion in completions:
                for question in split_questions(completion.text):
                    key = deduper.add(question, lang)
                    if key is None:
                        report.duplicates += 1
                    elif len(items) < need:
                        items.append({"text": question, "norm": key, "lang": lang, "kind": kind, "tools": tools,
                                      "source": "generated", "meta": {"prompt": "custom" if (prompt if kind == "positive" else negative_prompt) else "seed"}})
            added = sum(1 for i in store.add_questions(items) if i is not None)
            held += added
            report.added[kind] += added
            stale = 0 if added else stale + 1
            if on_progress and added:
                on_progress(kind, added)
        report.held[kind] = held
    return report
