"""One question through generate -> judge -> rollout on the embedded SmolLM2 (real model, tiny
budgets). Each stage's stored result is checked against what the model actually wrote (every
request and reply is recorded): a stage that ignored or mis-read the model would fail."""

import pytest

from tooltune.data.generate import generate_questions
from tooltune.data.judge import judge_questions, keep_status, parse_verdict
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
    from tooltune.llm.transformers_backend import TransformersLLM

    llm = Recording(TransformersLLM(None))
    registry = builtin_registry().select(["calculator"])
    store = Store(tmp_path / "corpus.db")
    report = generate_questions(store, llm, registry.to_openai(), count=1, negatives=0.0, per_request=3, max_tokens=60, patience=2)
    assert report.held == {"positive": 1, "negative": 0}
    (question,) = list(store.questions())
    written = " ".join(c.text for _, c in llm.calls)
    assert question.text.rstrip("?？.") in written  # the question is one the model wrote, not invented

    llm.calls.clear()
    counts = judge_questions(store, llm, max_tokens=16)
    ((_, reply),) = llm.calls  # one question, one judge request
    judged = next(store.questions())
    expected = parse_verdict(reply.text).verdict
    assert judged.judge_verdict == expected
    assert dict(counts) == {f"verdict {expected}": 1, f"{judged.kind} {judged.status}": 1}
    assert judged.status == keep_status(judged, expected)  # no forced approval: the judge's reading decides

    llm.calls.clear()
    result = rollout(store, llm, registry, RolloutConfig(max_steps=1, max_tokens=24))
    samples = list(store.samples(source="rollout"))
    if judged.status != "approved":  # a rejected or unclear question is never rolled out
        assert samples == [] and llm.calls == [] and sum(result.values()) == 0
        return
    (stored,) = samples
    assert stored.question_id == judged.id and stored.sample.messages[0].content == judged.text
    final = stored.meta["trajectory_status"] == "final"
    assert (stored.status, stored.error is None) == (("draft", True) if final else ("rejected", False))
    assert pending_questions(store) == []
