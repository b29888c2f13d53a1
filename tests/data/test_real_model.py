"""One question through generate -> judge -> rollout on the embedded SmolLM2 (real model, tiny
budgets, greedy). Every request and reply is recorded, and each stage's stored result is checked
against the exact text the model wrote: a stage that ignored or mis-read the model would fail."""

import pytest

from tooltune.data.generate import generate_questions
from tooltune.data.judge import judge_questions
from tooltune.data.rollout import RolloutConfig, pending_questions, rollout
from tooltune.data.store import Store
from tooltune.llm.base import LLM
from tooltune.tools import builtin_registry


class Recording(LLM):
    """Passes requests to a real backend and keeps every (request, completion) pair."""

    def __init__(self, inner: LLM) -> None:
        self.inner, self.calls = inner, []

    def complete(self, request, on_text=None):
        completion = self.inner.complete(request, on_text)
        self.calls.append((request, completion))
        return completion

    def complete_batch(self, requests):
        completions = self.inner.complete_batch(requests)
        self.calls += list(zip(requests, completions))
        return completions


@pytest.mark.slow
def test_embedded_model_generates_judges_and_rolls_out_one_question(tmp_path):
    """The raw embedded SmolLM2 (no adapter) decodes greedily, so what it writes is fixed: the
    values below are its output, and each stage must store exactly that reading of it."""
    from tooltune.llm.transformers_backend import TransformersLLM

    llm = Recording(TransformersLLM(None))
    registry = builtin_registry().select(["calculator"])
    store = Store(tmp_path / "corpus.db")
    report = generate_questions(store, llm, registry.to_openai(), count=1, negatives=0.0, per_request=3, max_tokens=60, patience=2,
                                temperature=0.0)
    assert report.held == {"positive": 1, "negative": 0}
    (question,) = list(store.questions())
    assert (question.text, question.kind, question.status) == ("What is the current time?", "positive", "draft")
    assert question.text in " ".join(c.text for _, c in llm.calls)  # one the model wrote, not invented

    llm.calls.clear()
    counts = judge_questions(store, llm, max_tokens=16)
    ((_, reply),) = llm.calls  # one question, one judge request
    assert reply.text == "The agent needs to call one of these tools to evaluate an arithmetic expression (+ -"
    judged = next(store.questions())  # no verdict word opens the reply: unclear, kept as a draft to judge again
    assert (judged.judge_verdict, judged.status) == ("unclear", "draft")
    assert dict(counts) == {"verdict unclear": 1, "positive draft": 1}
    assert rollout(store, llm, registry, RolloutConfig(max_steps=1, max_tokens=24)) == {} and len(llm.calls) == 1  # drafts never roll out

    store.set_question_verdicts([(judged.id, "yes", "a reviewer approved it", "approved")])  # as a person would
    assert rollout(store, llm, registry, RolloutConfig(max_steps=1, max_tokens=24)) == {"final": 1}
    (stored,) = list(store.samples(source="rollout"))
    answer = "The current time is currently 12:58:59."
    assert [c.text for _, c in llm.calls[1:]] == [answer]  # one step: the model answered without a call
    assert (stored.question_id, stored.status, stored.error, stored.meta) == (judged.id, "draft", None, {"trajectory_status": "final", "steps": 1})
    assert [m.to_openai() for m in stored.sample.messages] == [{"role": "user", "content": "What is the current time?"},
                                                               {"role": "assistant", "content": answer}]
    assert pending_questions(store) == []
