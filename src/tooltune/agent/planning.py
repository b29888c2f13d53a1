"""Planning: split a task into sub-tasks, run each with the agent loop, retry or re-plan failures,
and end with a reflection step that decides whether the task is complete (`tooltune run --plan`).

The whole planned run is one canonical conversation — the plan request and the model's plan, one
user turn per sub-task followed by the agent's steps, retry and re-plan requests, the reflection
request and the model's verdict — so corpus, annotation, training and evaluation take it like any
other sample. Every limit is a setting with a safe default, and when one stops the run the result
says which, in one sentence (`PlanResult.message`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tooltune.agent.loop import Agent
from tooltune.agent.steps import Event, Status, Trajectory
from tooltune.errors import TooltuneError
from tooltune.lang import lang_or_en
from tooltune.messages import Message
from tooltune.prompts import fill

_NUMBERED = re.compile(r"^\s*(?:step\s*)?(\d+)\s*[.)、:：]\s*(.+?)\s*$", re.I | re.M)


@dataclass
class PlanLimits:
    max_subtasks: int = 6  # sub-tasks per plan (longer plans are cut)
    max_steps: int = 24  # model steps for the whole run: plans, sub-task steps, reflections
    max_retries: int = 1  # retries of one failed sub-task before re-planning
    max_replans: int = 1  # new plans after a failure or an incomplete reflection

    def check(self) -> None:
        if self.max_subtasks < 1 or self.max_steps < 3 or self.max_retries < 0 or self.max_replans < 0:
            raise TooltuneError("plan limits: --max-subtasks >= 1, --plan-steps >= 3, --max-retries and --max-replans >= 0")


@dataclass
class SubTask:
    text: str
    status: str = "pending"  # pending | done | failed
    attempts: int = 0
    result: str | None = None


@dataclass
class PlanResult:
    trajectory: Trajectory
    subtasks: list[SubTask]
    status: str  # complete | incomplete | limit
    message: str  # one sentence for the user: the answer's status or which limit stopped the run
    answer: str | None = None
    replans: int = 0
    steps: int = 0


def parse_plan(text: str, limit: int) -> list[str]:
    """Numbered lines of a plan (`1. …`, `2) …`, `3、…`); an unnumbered reply yields nothing."""
    return [m.group(2) for m in _NUMBERED.finditer(text or "")][:limit]


class Planner:
    def __init__(self, agent: Agent, limits: PlanLimits | None = None) -> None:
        self.agent = agent
        self.limits = limits or PlanLimits()
        self.limits.check()
        self.lang = lang_or_en(agent.format.lang)  # the planner's prompts: tooltune/prompts/plan*_LANG.txt

    def run(self, task: str, system: str | None = None, on_event: Callable[[Event], None] | None = None) -> PlanResult:
        self._events: list[Event] = []
        self._on_event = on_event
        self._steps = 0
        self._msgs = [Message("system", system)] if system else []
        self._task = task
        subtasks = self._plan(fill("plan", self.lang, n=self.limits.max_subtasks, task=task), replan=0)
        replans = 0
        i = 0
        while True:
            while i < len(subtasks):
                if self._steps >= self.limits.max_steps:
                    return self._stop(subtasks, replans, f"stopped: the step limit ({self.limits.max_steps}) was reached "
                                      f"with {len(subtasks) - i} of {len(subtasks)} sub-tasks not done")
                failure = self._run_subtask(subtasks, i)
                if failure is None:
                    i += 1
                    continue
                if self._steps >= self.limits.max_steps:
                    return self._stop(subtasks, replans, f"stopped: the step limit ({self.limits.max_steps}) was reached "
                                      f"in sub-task {i + 1} ({subtasks[i].text}): {failure}")
                if replans >= self.limits.max_replans:
                    return self._stop(subtasks, replans, f"stopped: sub-task {i + 1} ({subtasks[i].text}) failed "
                                      f"{subtasks[i].attempts} time(s) and the re-plan limit ({self.limits.max_replans}) is reached: {failure}")
                replans += 1
                done = "\n".join(f"- {s.text}: {s.result}" for s in subtasks[:i]) or "- nothing yet"
                request = fill("plan_replan", self.lang, i=i + 1, text=subtasks[i].text, reason=failure, done=done)
                subtasks = subtasks[:i] + self._plan(request, replan=replans)
            verdict = self._reflect()
            if verdict is None:
                return self._stop(subtasks, replans, f"stopped: the step limit ({self.limits.max_steps}) was reached before the reflection step")
            complete, text = verdict
            if complete:
                return self._finish(subtasks, replans, "complete", "the task is complete", text)
            if replans >= self.limits.max_replans:
                return self._finish(subtasks, replans, "incomplete", f"stopped: the reflection says the task is not complete "
                                    f"({text}) and the re-plan limit ({self.limits.max_replans}) is reached", None)
            if self._steps >= self.limits.max_steps:
                return self._finish(subtasks, replans, "incomplete", f"stopped: the reflection says the task is not complete "
                                    f"({text}) and the step limit ({self.limits.max_steps}) is reached", None)
            replans += 1
            done = "\n".join(f"- {s.text}: {s.result}" for s in subtasks) or "- nothing yet"
            request = fill("plan_replan", self.lang, i=len(subtasks), text="reflection", reason=f"not complete: {text}", done=done)
            subtasks = subtasks + self._plan(request, replan=replans)

    # -- pieces -----------------------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        event.step = self._steps
        if event.kind != "token":
            self._events.append(event)
        if self._on_event:
            self._on_event(event)

    def _ask(self, request: str) -> str:
        """One model step answering `request` in the conversation; its text (plan or verdict)."""
        self._msgs.append(Message("user", request))
        self.agent.offered = None  # plans and verdicts see every tool, not the last sub-task's selection
        # the plan / verdict is reported by its own event, not as the task's "final answer"
        step = self.agent.step(self._msgs, lambda e: None if e.kind == "final_answer" else self._emit(e))
        self._steps += 1
        self._msgs.extend(step.to_messages())
        return getattr(step, "answer", "") or ""

    def _plan(self, request: str, replan: int) -> list[SubTask]:
        text = self._ask(request)
        items = parse_plan(text, self.limits.max_subtasks)
        fallback = not items
        subtasks = [SubTask(t) for t in items] or [SubTask(self._task)]  # no usable plan: the task is one sub-task
        self._emit(Event("plan", {"subtasks": [s.text for s in subtasks], "replan": replan, "fallback": fallback}))
        return subtasks

    def _run_subtask(self, subtasks: list[SubTask], i: int) -> str | None:
        """Run sub-task i with retries; None when it is done, else why it failed."""
        sub = subtasks[i]
        request = fill("plan_subtask", self.lang, i=i + 1, n=len(subtasks), text=sub.text)
        failure: str | None = f"no steps left (limit {self.limits.max_steps})"
        while True:
            budget = self.limits.max_steps - self._steps
            if budget <= 0:
                break  # keep the last attempt's reason
            sub.attempts += 1
            self._msgs.append(Message("user", request))
            failure = self._attempt(sub, budget)
            self._emit(Event("subtask", {"index": i + 1, "text": sub.text, "attempt": sub.attempts, "status": sub.status, "error": failure}))
            if failure is None or sub.attempts > self.limits.max_retries:
                break
            request = fill("plan_retry", self.lang, i=i + 1, reason=failure)
        return failure

    def _attempt(self, sub: SubTask, budget: int) -> str | None:
        observed: list[tuple[bool, str]] = []  # (is_error, output) of this attempt's tool calls

        def watch(event: Event) -> None:
            if event.kind == "observation":
                observed.append((event.data["is_error"], event.data["output"]))
            self._emit(event)

        saved = self.agent.max_steps
        self.agent.max_steps = min(saved, budget)
        try:
            traj = self.agent.run(self._msgs, on_event=watch)
        finally:
            self.agent.max_steps = saved
        self._steps += sum(m.role == "assistant" for m in traj.messages[len(self._msgs):])
        self._msgs = traj.messages
        if traj.status != Status.FINAL:
            sub.status = "failed"
            return f"the sub-run ended with status {traj.status}"
        if observed and all(is_error for is_error, _ in observed):
            sub.status = "failed"
            return f"the tool failed: {observed[-1][1][:200]}"
        sub.status, sub.result = "done", traj.final_answer
        return None

    def _reflect(self) -> tuple[bool, str] | None:
        if self._steps >= self.limits.max_steps:
            return None
        text = self._ask(fill("plan_reflect", self.lang, task=self._task)).strip()
        verdict = re.match(r"^[\s*_#]*(IN)?COMPLETE[\s*_]*[:：]?[\s*_]*", text, flags=re.I)
        complete = verdict is not None and not verdict.group(1)  # no verdict at all is not "complete"
        answer = text[verdict.end():] if verdict else f"no COMPLETE/INCOMPLETE verdict in {text[:200]!r}"
        self._emit(Event("reflection", {"complete": complete, "text": answer}))
        return complete, answer

    def _stop(self, subtasks: list[SubTask], replans: int, message: str) -> PlanResult:
        return self._finish(subtasks, replans, "limit", message, None)

    def _finish(self, subtasks: list[SubTask], replans: int, status: str, message: str, answer: str | None) -> PlanResult:
        tools = [t.to_openai() for t in self.agent.tools]  # sub-tasks may each have been offered a selection
        traj = Trajectory(self._msgs, tools, Status.FINAL if status == "complete" else Status(f"plan_{status}"), self._events)
        self._emit(Event("stopped", {"status": traj.status, "message": message}))
        return PlanResult(traj, subtasks, status, message, answer, replans, self._steps)


def plan_summary(result: PlanResult) -> dict[str, Any]:
    """JSON-friendly plan-level outcome (for the CLI's --json and the planned-vs-plain benchmark)."""
    return {
        "status": result.status, "message": result.message, "answer": result.answer, "replans": result.replans,
        "steps": result.steps, "subtasks": [s.__dict__ for s in result.subtasks],
    }
