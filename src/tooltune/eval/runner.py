"""Run one model under one prompt format over eval items: teacher-forced steps, then free-running.

Prompts are built and completions parsed by `Agent.request` / `Agent.parse`, so the eval sees
exactly what the agent sends and understands. Generation is batched (`llm.complete_batch`) and
greedy by default. Every finished item is appended to a JSONL file and fsync'ed, and items already
there are skipped on a rerun, so an interrupted eval continues where it stopped.

- Teacher forcing: for each reference assistant turn k, the model gets the gold messages before
  k and its step is scored against turn k (multi-step items score every step).
- Free-running: from the question, the agent runs on its own (tools really executed, bound from
  the built-ins by name) for up to `reference steps + extra_steps` steps; its trajectory is
  compared to the reference and its final answer to `reference_answer` (end-to-end success).
  The first free-running step reuses the teacher-forced step 0, whose prompt is identical.
- Planned (`EvalSettings(plan=True)`, `--plan`): from the question, through the Planner
  (tooltune.eval.planned); plan-level success = ended complete and the answer is right.

A request the backend fails (`BackendError`: a broken stream, a reset, a 5xx, after the backend's
retries) is not a model answer: its item is neither scored nor written to the results file (a
rerun retries it); `EvalRunner.backend_errors` holds those items and the server's message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tooltune.agent import Agent
from tooltune.agent.planning import PlanLimits
from tooltune.agent.steps import FinalAnswerStep, FormatErrorStep
from tooltune.errors import BackendError, TooltuneError
from tooltune.eval.answers import AnswerJudge, answer_matches
from tooltune.eval.items import EvalItem, StepRef
from tooltune.eval.metrics import MatchOptions, match_calls, score_step
from tooltune.eval.planned import EVAL_PLAN_LIMITS, run_planned, task_of
from tooltune.formats import FORMATS, get_format
from tooltune.lang import LANG_CHOICES, check_lang, lang_or_en
from tooltune.llm.base import LLM, Completion
from tooltune.messages import Message, ToolCall, read_append_log
from tooltune.tools import Tool, ToolRegistry, builtin_registry
from tooltune.toolspec import tool_name


@dataclass
class EvalSettings:
    """Everything that changes results; stored beside the results so a resume cannot mix runs."""

    format: str = "react"
    max_tokens: int = 256
    lam: float = 1.0
    string_numbers: bool = False
    normalize_strings: bool = False
    prompt_lang: str = "auto"  # auto = each item's language
    tool_role: str = "user"
    free_run: bool = True
    extra_steps: int = 1
    temperature: float = 0.0
    plan: bool = False  # also run each item through the Planner (plan-level success)
    plan_limits: PlanLimits = field(default_factory=lambda: replace(EVAL_PLAN_LIMITS))
    constrain: bool = False  # tool calls held to the offered schemas while decoding (formats.grammar)

    @property
    def match(self) -> MatchOptions:
        return MatchOptions(self.string_numbers, self.normalize_strings)

    def validate(self) -> None:
        """One-line errors (naming `tooltune eval`'s options) before any model is loaded."""
        if self.format not in FORMATS:
            raise TooltuneError(f"unknown format {self.format!r}: use one of {', '.join(FORMATS)}")
        check_lang(self.prompt_lang, "--prompt-lang", LANG_CHOICES)
        if self.max_tokens < 1 or self.extra_steps < 0:
            raise TooltuneError("--max-tokens must be at least 1 and --extra-steps at least 0")
        if self.plan:
            self.plan_limits.check()

    def to_json(self) -> dict[str, Any]:
        """Without planning or constraints, exactly the settings of before either existed, so old
        results still resume and reports stay byte-for-byte the same; constrained results carry
        `constrain: true`, so they never resume into (or mix with) free ones."""
        out = asdict(self)
        if not self.plan:
            del out["plan"], out["plan_limits"]
        if not self.constrain:
            del out["constrain"]
        return out


def _calls_json(calls: Iterable[ToolCall]) -> list[dict[str, Any]]:
    return [{"name": c.name, "arguments": c.arguments} for c in calls]


def bind_tools(specs: list[dict[str, Any]], implementations: ToolRegistry) -> tuple[ToolRegistry, list[str]]:
    """The item's tools as given (its own specs), with built-in implementations bound by name;
    also returns the names that have no implementation (those items skip end-to-end)."""
    tools, missing = [], []
    for spec in specs:
        name = tool_name(spec)
        impl = implementations.get(name).func if name in implementations else None
        if impl is None:
            missing.append(str(name))
        tools.append(Tool.from_openai(spec, func=impl))
    return ToolRegistry(tools), missing


@dataclass
class _FreeRun:
    item: EvalItem
    agent: Agent
    messages: list[Message]
    max_steps: int
    steps: list[list[ToolCall]] = field(default_factory=list)
    status: str = "running"
    final_answer: str | None = None
    error: str | None = None


class EvalRunner:
    def __init__(
        self, llm: LLM, settings: EvalSettings, batch_size: int = 4, judge: AnswerJudge | None = None,
        implementations: ToolRegistry | None = None,
    ) -> None:
        if batch_size < 1:
            raise TooltuneError("--batch-size must be at least 1")
        get_format(settings.format)  # an unknown format is a one-line error before any work
        self.llm = llm
        self.settings = settings
        self.batch_size = batch_size
        self.judge = judge
        self.implementations = implementations if implementations is not None else builtin_registry()
        self.backend_errors: dict[str, str] = {}  # item id -> the server's message; those items are unscored

    def agent_for(self, item: EvalItem) -> tuple[Agent, list[str]]:
        lang = item.lang if self.settings.prompt_lang == "auto" else self.settings.prompt_lang
        fmt = get_format(self.settings.format, lang_or_en(lang), self.settings.tool_role)
        if hasattr(fmt, "use_model") and getattr(self.llm, "tokenizer", None) is not None:
            fmt.use_model(self.llm.tokenizer)  # native: the model family's own tool-call parser
        registry, missing = bind_tools(item.tools, self.implementations)
        agent = Agent(self.llm, registry, fmt, lang, max_tokens=self.settings.max_tokens, temperature=self.settings.temperature,
                      constrain=self.settings.constrain)
        return agent, missing

    def _generate(self, agents: list[Agent], prefixes: list[list[Message]]) -> list[Completion | BackendError]:
        out: list[Completion | BackendError] = []
        for start in range(0, len(agents), self.batch_size):
            chunk = range(start, min(start + self.batch_size, len(agents)))
            out += self.llm.complete_each([agents[i].request(prefixes[i]) for i in chunk])
        return out

    # -- the whole run --------------------------------------------------------------------------
    def run(self, items: list[EvalItem], results_path: str | Path, on_item: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
        """Evaluate `items`, appending each result to `results_path`; done items are skipped.
        Returns the results of all items (old and new) in item order."""
        if self.judge is None and any(i.answer_match == "judge" and i.reference_answers for i in items):
            raise TooltuneError("some items use answer_match 'judge': pass --judge-model (and --judge-base-url for a server)")
        done = load_results(results_path)
        todo = [i for i in items if i.id not in done]
        for start in range(0, len(todo), self.batch_size):
            for result in self.evaluate_batch(todo[start : start + self.batch_size]):
                if "backend_error" in result:
                    self.backend_errors[result["item_id"]] = result["backend_error"]
                else:
                    append_result(results_path, result)
                    done[result["item_id"]] = result
                if on_item:
                    on_item(result)
        return [done[i.id] for i in items if i.id in done]

    def evaluate_batch(self, items: list[EvalItem]) -> list[dict[str, Any]]:
        """Results of `items`; an item any of whose requests the backend failed gets only
        {"item_id", "backend_error"}."""
        agents = {item.id: self.agent_for(item) for item in items}
        single = FORMATS[self.settings.format].one_call_per_completion
        jobs = [(item, ref) for item in items for ref in item.reference_steps(single)]
        completions = self._generate([agents[it.id][0] for it, _ in jobs], [ref.prefix for _, ref in jobs])
        failed: dict[str, str] = {}
        for (item, _), completion in zip(jobs, completions):
            if isinstance(completion, BackendError):
                failed.setdefault(item.id, str(completion))
        steps: dict[str, list[dict[str, Any]]] = {item.id: [] for item in items}
        first: dict[str, Completion] = {}
        for (item, ref), completion in zip(jobs, completions):
            if item.id in failed or isinstance(completion, BackendError):
                continue
            first.setdefault(item.id, completion)  # step 0's prefix is the question: free-run reuses it
            steps[item.id].append(self._score(item, ref, agents[item.id][0], completion))
        ok = [item for item in items if item.id not in failed]
        free = self._free_run(ok, agents, first) if self.settings.free_run else {}
        failed.update({rid: run.error or "" for rid, run in free.items() if run.status == "backend_error"})
        plans = self._planned_runs([i for i in ok if i.id not in failed], failed) if self.settings.plan else {}
        return [{"item_id": item.id, "backend_error": failed[item.id]} if item.id in failed
                else self._item_result(item, steps[item.id], free.get(item.id), agents[item.id][1], plans) for item in items]

    def _score(self, item: EvalItem, ref: StepRef, agent: Agent, completion: Completion) -> dict[str, Any]:
        parsed = agent.parse(completion)
        score = score_step(ref.expected, parsed.kind, parsed.calls, parsed.strict, item.tools, self.settings.match, self.settings.lam,
                           truncated=len(parsed.truncated))
        return {
            "index": ref.index, "part": ref.part, "expected": _calls_json(ref.expected), "completion": completion.text,
            "completion_tokens": completion.completion_tokens, "parsed": parsed.to_json(), **score.to_json(),
        }

    # -- free-running ----------------------------------------------------------------------------
    def _free_run(self, items: list[EvalItem], agents: dict[str, tuple[Agent, list[str]]], first: dict[str, Completion]) -> dict[str, _FreeRun]:
        """Runs stop with status "backend_error" when the backend fails one of their steps."""
        runs = {  # step budget: one per reference call (formats may split parallel calls) + the answer
            item.id: _FreeRun(item, agents[item.id][0], item.question(), len(item.reference_tools()) + 1 + self.settings.extra_steps)
            for item in items if not agents[item.id][1]
        }
        pending = {rid: first[rid] for rid in runs}  # step 0: the teacher-forced completion
        while pending:
            for rid, completion in pending.items():
                self._advance(runs[rid], completion)
            active = [r for r in runs.values() if r.status == "running"]
            completions = self._generate([r.agent for r in active], [r.messages for r in active])
            pending = {r.item.id: c for r, c in zip(active, completions)}
        return runs

    @staticmethod
    def _advance(run: _FreeRun, completion: Completion | BackendError) -> None:
        """Apply one step the way the agent does (`Agent.finish_step`: run its tools, or finish),
        but without format-error retries: the eval measures what the model does unaided (the
        agent's retry feedback would mask errors)."""
        if isinstance(completion, BackendError):
            run.status, run.error = "backend_error", str(completion)
            return
        step = run.agent.finish_step(completion, history=run.messages)
        if isinstance(step, FormatErrorStep):
            run.status, run.error = "format_error", step.error
            return
        run.messages.extend(step.to_messages())
        if isinstance(step, FinalAnswerStep):
            run.status, run.final_answer = "final", step.answer
            return
        run.steps.append(list(step.calls))
        if run.agent.looping(run.messages):  # the same call again and again: status "loop"
            run.status = "loop"
        elif len(run.steps) >= run.max_steps:
            run.status = "max_steps"

    def _free_run_json(self, item: EvalItem, run: _FreeRun) -> dict[str, Any]:
        reference = item.reference_call_groups()
        made = [c for step in run.steps for c in step]
        return {
            "status": run.status, "error": run.error, "final_answer": run.final_answer,
            "calls": [_calls_json(step) for step in run.steps],
            "tool_sequence_match": sequence_matches(reference, made, lambda e, p: sorted(c.name for c in e) == sorted(c.name for c in p)),
            "trajectory_match": run.status == "final"
            and sequence_matches(reference, made, lambda e, p: match_calls(e, p, item.tools, self.settings.match)),
            "steps": len(run.steps) + (run.status == "final"),
        }

    def answer_is_right(self, item: EvalItem, answer: str) -> bool:
        """The end-to-end check of a final answer: `answer_matches`, or the judge for 'judge' items."""
        if item.answer_match == "judge":
            question = next((m.text for m in item.messages if m.role == "user"), "")
            return bool(self.judge.judge(question, answer, item.reference_answers))  # type: ignore[union-attr]
        return answer_matches(answer, item.reference_answers, item.answer_match)

    def _e2e(self, item: EvalItem, run: _FreeRun | None) -> dict[str, Any] | None:
        if not item.reference_answers or run is None:
            return None
        answer = run.final_answer if run.status == "final" else None
        success = answer is not None and self.answer_is_right(item, answer)
        return {"success": bool(success), "mode": item.answer_match, "reference": item.reference_answers}

    # -- planned runs ----------------------------------------------------------------------------
    def _planned_runs(self, items: list[EvalItem], failed: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Each item with a reference answer and executable tools, run through the Planner from its
        question (one at a time: the Planner's steps depend on each other). Format errors get no
        retries, as in the free run. A backend failure marks the item failed (unscored, retried later)."""
        plans: dict[str, dict[str, Any]] = {}
        for item in items:
            agent, missing = self.agent_for(item)
            if not item.reference_answers or missing:
                continue
            agent.max_format_retries = 0
            task, system = task_of(item.question())
            try:
                outcome = run_planned(agent, task, lambda answer: self.answer_is_right(item, answer), self.settings.plan_limits, system)
            except BackendError as exc:
                failed[item.id] = str(exc)
                continue
            plans[item.id] = outcome.to_json()
        return plans

    def _item_result(self, item: EvalItem, steps: list[dict[str, Any]], run: _FreeRun | None, missing: list[str],
                     plans: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        free: dict[str, Any] | None
        if not self.settings.free_run:
            free = None
        elif run is None:
            free = {"status": "skipped", "error": f"no implementation for tool(s) {', '.join(missing)}"}
        else:
            free = self._free_run_json(item, run)
        return {
            "item_id": item.id, "lang": item.lang, "expect_tool_call": item.expect_tool_call,
            "reference_tools": item.reference_tools(), "steps": steps, "free_run": free,
            "e2e": self._e2e(item, run), "human_score": item.human_score,
        } | ({"plan": (plans or {}).get(item.id)} if self.settings.plan else {})


def sequence_matches(reference: list[list[ToolCall]], made: list[ToolCall], same: Callable[[list[ToolCall], list[ToolCall]], bool]) -> bool:
    """The calls made, in order, are the reference groups in order; within a group of parallel
    calls any order (and any split over steps) is fine."""
    position = 0
    for group in reference:
        chunk = made[position : position + len(group)]
        if len(chunk) < len(group) or not same(group, chunk):
            return False
        position += len(group)
    return position == len(made)


# -- resumable results file ------------------------------------------------------------------
def load_results(path: str | Path) -> dict[str, dict[str, Any]]:
    """Finished item results by id. A torn last line (a crash mid-write) is cut off so the next
    append starts on a clean line; any other bad line is an error (its item would be re-run
    silently otherwise, and every line after it lost)."""
    rows = read_append_log(path, "delete that line (its item is then run again) or the whole file")
    return {row["item_id"]: row for row in rows}


def append_result(path: str | Path, result: dict[str, Any]) -> None:
    """One line per item, flushed and fsync'ed: a finished item survives a crash right after."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(result, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
