"""Planned runs scored end to end: one owner for "run the task through the Planner, then check the
final answer", shared by `tooltune eval --plan` (EvalRunner) and benchmarks/planned_vs_plain.py.

Plan-level success = the planned run ended `complete` AND its final answer matches the reference
(the same check the end-to-end metric uses: `answer_matches`, or the judge). A run stopped by a
limit (`plan_limit`) or judged not complete (`plan_incomplete`) never counts, whatever it wrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tooltune.agent import Agent
from tooltune.agent.planning import PlanLimits, Planner
from tooltune.agent.steps import Trajectory
from tooltune.messages import Message

# Tight limits: a small model's plans are short, and every step costs a generation on CPU.
EVAL_PLAN_LIMITS = PlanLimits(max_subtasks=4, max_steps=16, max_retries=1, max_replans=1)


@dataclass
class TaskOutcome:
    """How one run (plain or planned) of one task ended, scored."""

    status: str  # plain: the agent's status (final, max_steps, …); planned: final | plan_incomplete | plan_limit
    answer: str | None  # None unless the run ended with an answer it stands by
    success: bool
    steps: int  # model steps (plans, sub-task steps, reflections)
    tool_calls: int
    trajectory: Trajectory
    subtasks: int | None = None  # planned runs only
    replans: int | None = None
    message: str | None = None

    def to_json(self, trajectory: bool = False) -> dict[str, Any]:
        out = {"status": self.status, "answer": self.answer, "success": self.success, "steps": self.steps,
               "tool_calls": self.tool_calls, "subtasks": self.subtasks, "replans": self.replans, "message": self.message}
        return out | ({"trajectory": self.trajectory.to_json()} if trajectory else {})


def task_of(question: list[Message]) -> tuple[str, str | None]:
    """(task text, system prompt) of an item's question messages: the Planner takes a task string."""
    system = next((m.text for m in question if m.role == "system"), None)
    task = "\n".join(m.text for m in question if m.role == "user")
    return task, system


def count_calls(traj: Trajectory) -> int:
    return sum(len(m.tool_calls) for m in traj.messages if m.role == "assistant")


def run_planned(agent: Agent, task: str, is_right: Callable[[str], bool], limits: PlanLimits = EVAL_PLAN_LIMITS,
                system: str | None = None) -> TaskOutcome:
    """Run `task` through the Planner (tools executed by `agent`) and score its final answer.
    A BackendError propagates: a failed request is not a model answer."""
    result = Planner(agent, limits).run(task, system=system)
    answer = result.answer if result.status == "complete" else None
    return TaskOutcome(result.trajectory.status, answer, bool(answer) and bool(is_right(answer)), result.steps,
                      count_calls(result.trajectory), result.trajectory, len(result.subtasks), result.replans, result.message)


def run_plain(agent: Agent, task: str, is_right: Callable[[str], bool], system: str | None = None) -> TaskOutcome:
    """The agent loop alone on `task`, scored the same way (the baseline of planned runs)."""
    traj = agent.run(task, system=system)
    answer = traj.final_answer if traj.status == "final" else None
    steps = sum(m.role == "assistant" for m in traj.messages)
    return TaskOutcome(traj.status, answer, bool(answer) and bool(is_right(answer)), steps, count_calls(traj), traj)


def summarize_plans(plans: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's plan-level rows over the items that had a planned run (`plan` results)."""
    n = len(plans)

    def mean(values: list[Any]) -> float | None:
        return sum(values) / n if n else None

    return {
        "plan_items": n,
        "plan_success": mean([p["success"] for p in plans]),
        "plan_incomplete": mean([p["status"] == "plan_incomplete" for p in plans]),
        "plan_limit": mean([p["status"] == "plan_limit" for p in plans]),
        "plan_subtasks": mean([p["subtasks"] for p in plans]),
        "plan_steps": mean([p["steps"] for p in plans]),
    }


# The report's rows for planned runs, in order: (key, label).
PLAN_ROWS = [
    ("plan_success", "plan-level success (complete + right answer)"),
    ("plan_incomplete", "planned: ended plan_incomplete"),
    ("plan_limit", "planned: ended plan_limit"),
    ("plan_subtasks", "planned: sub-tasks / item"),
    ("plan_steps", "planned: model steps / item"),
    ("plan_items", "planned items"),
]
