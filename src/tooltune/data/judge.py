"""`tooltune judge`: an LLM decides whether each question truly needs a tool.

The judge answers 是/否 (yes/no) first and then a reason. Models wrap that in every way —
`**是**。`, `答：否，因为…`, `Yes, because…`, `"No."`, `判断：不需要` — so `parse_verdict` strips
markdown, normalises full-width punctuation (NFKC) and reads the first verdict word.

A positive question is kept (status approved) when the judge says it needs a tool; a hard negative
is kept when the judge says it does not. Judging is resumable: only questions without a verdict
are asked, unless `rejudge` is set.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tooltune.data.store import Store, StoredQuestion
from tooltune.data.text import chat_request, describe_tools
from tooltune.lang import lang_or_en
from tooltune.llm.base import LLM
from tooltune.prompts import fill_prompt, load_prompt

YES, NO, UNCLEAR = "yes", "no", "unclear"

_LEAD = re.compile(
    r"^(?:(?:answer|verdict|judgement|judgment|decision|response|output|result|final answer|a|答案|回答|答|判断|结论|结果|裁决)\s*[:：]\s*)+",
    re.I)
_MARKDOWN = re.compile(r"[*_`#>\[\]【】「」『』\"'“”‘’()（）]")
# Longest first: "不需要" must win over "需要", "not needed" over "needed".
_WORDS: list[tuple[str, str]] = sorted(
    [(w, NO) for w in ("否", "不是", "不需要", "不用", "不必", "无需", "不", "no", "not", "false", "nope", "n")]
    + [(w, YES) for w in ("是", "是的", "需要", "对", "要", "yes", "true", "yeah", "yep", "y", "correct")],
    key=lambda wv: -len(wv[0]),
)


@dataclass
class Judgement:
    verdict: str  # yes | no | unclear
    reason: str


def parse_verdict(text: str) -> Judgement:
    """The verdict word at the start of a judge's reply, and the reason after it."""
    clean = unicodedata.normalize("NFKC", text or "").strip()
    clean = _MARKDOWN.sub("", clean).strip()
    clean = _LEAD.sub("", clean).strip()
    lowered = clean.lower()
    for word, verdict in _WORDS:
        if not lowered.startswith(word):
            continue
        rest = clean[len(word):]
        if word.isascii() and rest[:1].isalnum():  # "nothing", "yesterday", "normal" are not verdicts
            continue
        return Judgement(verdict, _reason(rest))
    return Judgement(UNCLEAR, clean)


def _reason(rest: str) -> str:
    rest = rest.strip()
    rest = re.sub(r"^[\s,.;:!?、，。；：！？\-–—]+", "", rest)
    rest = re.sub(r"^(?:because|since|reason\s*[:：]?|理由\s*[:：]?|原因\s*[:：]?|因为)\s*", "", rest, flags=re.I)
    return rest.strip()


def keep_status(question: StoredQuestion, verdict: str) -> str:
    """approved when the verdict matches what the question is for, rejected when it contradicts
    it, draft (judge again later) when the reply could not be read."""
    if verdict == UNCLEAR:
        return "draft"
    wants_tool = verdict == YES
    return "approved" if wants_tool == question.expect_tool_call else "rejected"


def judge_questions(
    store: Store, llm: LLM, lang: str | None = None, prompt: str | None = None, batch_size: int = 8,
    max_tokens: int = 96, rejudge: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> Counter[str]:
    """Judge every unjudged question (all with `rejudge`); returns counts per verdict and status."""
    pending = list(store.questions(judged=None if rejudge else False, lang=lang))
    if not rejudge:
        pending += [q for q in store.questions(judged=True, lang=lang) if q.judge_verdict == UNCLEAR]
    counts: Counter[str] = Counter()
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        requests = [chat_request(_judge_prompt(q, prompt), max_tokens) for q in batch]
        completions = llm.complete_batch(requests)
        rows = []
        for question, completion in zip(batch, completions):
            judgement = parse_verdict(completion.text)
            status = keep_status(question, judgement.verdict)
            rows.append((question.id, judgement.verdict, judgement.reason or completion.text.strip(), status))
            counts[f"verdict {judgement.verdict}"] += 1
            counts[f"{question.kind} {status}"] += 1
        store.set_question_verdicts(rows)
        if on_progress:
            on_progress(len(batch))
    return counts


def _judge_prompt(question: StoredQuestion, override: str | None) -> str:
    lang = lang_or_en(question.lang)
    tools: list[dict[str, Any]] = question.tools
    return fill_prompt(load_prompt("judge", lang, override), tools=describe_tools(tools), question=question.text,
                       count="", style="")
