"""End-to-end checks of a final answer against an item's reference answer(s).

`exact` and `contains` compare normalised text (case, whitespace, thousands separators, trailing
punctuation), which is right for checkable answers like a calculator result. `judge` asks any
backend (`--judge-model` / `--judge-base-url`) whether the answer says the same as the reference,
for answers that can be phrased many ways.
"""

from __future__ import annotations

import re

from tooltune.formats.base import Rendered, Segment, Turn
from tooltune.llm.base import LLM, GenerationRequest
from tooltune.messages import Message
from tooltune.prompts import fill

_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_SPACE = re.compile(r"\s+")

def normalize_answer(text: str) -> str:
    text = _THOUSANDS.sub("", text.strip().lower())
    return _SPACE.sub(" ", text).strip(" .。!！?？")


def answer_matches(answer: str, references: list[str], mode: str) -> bool:
    """`exact`: the normalised answer equals a reference; `contains`: a reference occurs in it."""
    got = normalize_answer(answer)
    refs = [normalize_answer(r) for r in references]
    if mode == "exact":
        return got in refs
    return any(r and r in got for r in refs)


class AnswerJudge:
    """An LLM judge through any backend; greedy, a few tokens, YES/NO."""

    def __init__(self, llm: LLM, max_tokens: int = 8) -> None:
        self.llm = llm
        self.max_tokens = max_tokens

    def request(self, question: str, answer: str, references: list[str]) -> GenerationRequest:
        prompt = fill("answer_judge", "en", question=question, reference=" / ".join(references), answer=answer)
        return GenerationRequest(
            rendered=Rendered([Turn("user", [Segment(prompt)])]), messages=[Message("user", prompt)],
            max_tokens=self.max_tokens, temperature=0.0,
        )

    def judge(self, question: str, answer: str, references: list[str]) -> bool:
        text = self.llm.complete(self.request(question, answer, references)).text
        return verdict_is_yes(text)


def verdict_is_yes(text: str) -> bool:
    """The first YES/NO word (English or Chinese 是/否) in the judge's reply decides."""
    match = re.search(r"\b(yes|no)\b|(是|否|不)", text.strip(), re.I)
    if not match:
        return False
    return (match.group(1) or "").lower() == "yes" or match.group(2) == "是"
