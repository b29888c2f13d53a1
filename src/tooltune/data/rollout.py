"""`tooltune rollout`: the agent answers the kept questions, producing draft trajectories.

Tools run for real. Two modes:
- sequential: `Agent.run` per question (any backend);
- batched: every unfinished conversation takes its next step together — one `complete_batch`
  call for a local model (left-padded batching), concurrent requests for a server — then each
  parses its completion and runs its tools. Same loop semantics as `Agent.run` (bounded format
  retries with the error fed back, `max_steps`).

Hard negatives (questions kept as "needs no tool") become a plain answer without any tool call,
stored with `expect_tool_call=False`: the model is asked for an ordinary chat answer.

Each finished trajectory is committed at once, so a crash loses at most the ones in flight, and a
re-run skips every question that already has a rollout sample. Trajectories that end in a format
error or at `max_steps` are stored as `rejected` with their error, for a person to fix or drop;
`retry_failed` rolls those questions out again and stores the new trajectory as a new revision of
the same sample, so the failed attempt stays in its history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tooltune.agent import Agent
from tooltune.agent.steps import ActionStep, FormatErrorStep
from tooltune.data.store import Store, StoredQuestion
from tooltune.data.text import chat_request
from tooltune.errors import TooltuneError
from tooltune.formats import PromptFormat
from tooltune.lang import lang_or_en
from tooltune.llm.base import LLM
from tooltune.messages import Message, Sample
from tooltune.tools import ToolRegistry
from tooltune.toolspec import tool_names


@dataclass
class _Conversation:
    question: StoredQuestion
    messages: list[Message]
    attempt: list[Message] = field(default_factory=list)
    steps: int = 0
    retries: int = 0
    status: str = "running"
    error: str | None = None
    tool_errors: list[str] = field(default_factory=list)


@dataclass
class RolloutConfig:
    fmt: PromptFormat | str = "react"
    max_steps: int = 6
    max_tokens: int = 256
    batch_size: int = 8
    batched: bool = True
    system: str | None = None
    retry_failed: bool = False


def failed_rollouts(store: Store) -> dict[int, int]:
    """{question id: sample id} of rollout samples that ended in an error (a query: changes nothing)."""
    return {s.question_id: s.id for s in store.samples(source="rollout") if s.question_id is not None and s.error}


def pending_questions(store: Store, retry_failed: bool = False, limit: int | None = None) -> list[StoredQuestion]:
    """Kept questions (status approved) that have no rollout sample yet — or, with `retry_failed`,
    only a failed one. A query: it changes nothing in the store."""
    done = {s.question_id for s in store.samples(source="rollout") if s.question_id is not None}
    if retry_failed:
        done -= set(failed_rollouts(store))
    pending = [q for q in store.questions(status="approved") if q.id not in done]
    return pending[:limit] if limit else pending


def _agent_for(llm: LLM, registry: ToolRegistry, question: StoredQuestion, config: RolloutConfig, lang: str) -> Agent:
    wanted = tool_names(question.tools) or registry.names
    missing = [n for n in wanted if n not in registry]
    if missing:
        raise TooltuneError(f"question {question.id} needs tools with no implementation here: {', '.join(missing)}")
    return Agent(llm, registry.select(wanted), config.fmt, lang, max_steps=config.max_steps, max_tokens=config.max_tokens)


def _start(question: StoredQuestion, system: str | None) -> list[Message]:
    return ([Message("system", system)] if system else []) + [Message("user", question.text)]


def _store(store: Store, conv: _Conversation, tools: list[dict[str, Any]], retry_of: int | None = None) -> int:
    q = conv.question
    ok = conv.status == "final"
    meta = {"trajectory_status": conv.status, "steps": conv.steps}
    if conv.tool_errors:
        meta["tool_errors"] = conv.tool_errors
    if retry_of is not None:  # a retried failure: the new attempt is the sample's next revision
        store.update_sample(retry_of, Sample(conv.messages, tools), author="rollout", status="draft" if ok else "rejected",
                            meta=meta, error=None if ok else (conv.error or conv.status))
        return retry_of
    return store.add_sample(
        Sample(conv.messages, tools), status="draft" if ok else "rejected", source="rollout", question_id=q.id,
        expect_tool_call=q.expect_tool_call, lang=q.lang, meta=meta, error=None if ok else (conv.error or conv.status),
        judge_verdict=q.judge_verdict, judge_reason=q.judge_reason,
    )


def rollout(store: Store, llm: LLM, registry: ToolRegistry, config: RolloutConfig | None = None, limit: int | None = None,
            on_progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Roll out every pending question; returns counts by outcome."""
    config = config or RolloutConfig()
    counts: dict[str, int] = {}
    retry_of = failed_rollouts(store) if config.retry_failed else {}

    def done(conv: _Conversation, tools: list[dict[str, Any]]) -> None:
        _store(store, conv, tools, retry_of.get(conv.question.id))
        key = conv.status if conv.question.expect_tool_call else f"negative {conv.status}"
        counts[key] = counts.get(key, 0) + 1
        if on_progress:
            on_progress(1)

    pending = pending_questions(store, config.retry_failed, limit)
    negatives = [q for q in pending if not q.expect_tool_call]
    positives = [q for q in pending if q.expect_tool_call]
    size = config.batch_size if config.batched else 1
    for start in range(0, len(negatives), size):
        _answer_plainly(llm, negatives[start : start + size], config, done)
    for start in range(0, len(positives), size):
        batch = positives[start : start + size]
        if config.batched and len(batch) > 1:
            _run_batched(llm, registry, batch, config, done)
        else:
            for q in batch:
                _run_one(llm, registry, q, config, done)
    return counts


def _lang(question: StoredQuestion) -> str:
    return lang_or_en(question.lang)


def _run_one(llm: LLM, registry: ToolRegistry, q: StoredQuestion, config: RolloutConfig, done: Callable) -> None:
    agent = _agent_for(llm, registry, q, config, _lang(q))
    traj = agent.run(_start(q, config.system))
    conv = _Conversation(q, traj.messages, status=traj.status,
                         steps=sum(1 for m in traj.messages if m.role == "assistant"))
    conv.tool_errors = [e.data["output"][:300] for e in traj.events if e.kind == "observation" and e.data["is_error"]]
    errors = [e.data["error"] for e in traj.events if e.kind == "format_error"]
    conv.error = errors[-1] if traj.status == "format_error" and errors else None
    done(conv, agent.tool_specs)


def _run_batched(llm: LLM, registry: ToolRegistry, batch: list[StoredQuestion], config: RolloutConfig, done: Callable) -> None:
    """All conversations of the batch take their next step in one batched model call."""
    agents = [_agent_for(llm, registry, q, config, _lang(q)) for q in batch]
    convs = [_Conversation(q, _start(q, config.system)) for q in batch]
    for conv in convs:
        conv.attempt = list(conv.messages)
    while active := [i for i, c in enumerate(convs) if c.status == "running"]:
        completions = llm.complete_batch([agents[i].request(convs[i].attempt) for i in active])
        for i, completion in zip(active, completions):
            conv, agent = convs[i], agents[i]
            step = agent.finish_step(completion, history=conv.messages)
            if isinstance(step, FormatErrorStep):
                conv.retries += 1
                if conv.retries > agent.max_format_retries:
                    conv.status, conv.error = "format_error", step.error
                    done(conv, agent.tool_specs)
                else:
                    conv.attempt += agent.retry_messages(step)
                continue
            conv.retries, conv.steps = 0, conv.steps + 1
            conv.messages.extend(step.to_messages())
            if isinstance(step, ActionStep):
                conv.tool_errors += [r.output[:300] for r in step.results if r.is_error]
                if agent.looping(conv.messages):  # the same call again and again, as Agent.run stops
                    conv.status = "loop"
                elif conv.steps >= agent.max_steps:
                    conv.status = "max_steps"
            else:
                conv.status = "final"
            conv.attempt = list(conv.messages)
            if conv.status != "running":
                done(conv, agent.tool_specs)


def _answer_plainly(llm: LLM, batch: list[StoredQuestion], config: RolloutConfig, done: Callable) -> None:
    """Hard negatives: an ordinary chat answer, no tool format, so the sample teaches 'no call'."""
    requests = [chat_request(q.text, config.max_tokens, system=config.system) for q in batch]
    for q, completion in zip(batch, llm.complete_batch(requests)):
        answer = completion.text.strip()
        conv = _Conversation(q, _start(q, config.system) + [Message("assistant", answer)], steps=1,
                             status="final" if answer else "empty_answer")
        conv.error = None if answer else "the model gave an empty answer"
        done(conv, [t for t in q.tools])
