"""Agent steps share a base with wall time and token usage; a trajectory's status is an enum
that reads and serialises as the strings it always was."""

import json

import pytest

from tooltune.agent import Agent, Trajectory
from tooltune.agent.steps import ActionStep, AgentStep, FinalAnswerStep, FormatErrorStep, Status, TokenUsage
from tooltune.errors import TooltuneError
from tooltune.llm import Completion, ScriptedLLM
from tooltune.messages import Message
from tooltune.tools import builtin_registry

CALC = 'Thought: compute\nAction: calculator\nAction Input: {"expression": "2+3"}'


def _agent(responses, **kw):
    return Agent(ScriptedLLM(responses), builtin_registry().select(["calculator"]), "react", max_format_retries=1, **kw)


def test_a_step_carries_its_wall_time_and_the_tokens_of_every_attempt():
    agent = _agent([Completion("no keywords at all Action:", prompt_tokens=120, completion_tokens=7),
                    Completion(CALC, prompt_tokens=150, completion_tokens=20)])
    agent.clock = iter([10.0, 12.5]).__next__
    step = agent.step([Message("user", "2+3?")])
    assert isinstance(step, ActionStep) and isinstance(step, AgentStep)
    assert (step.seconds, step.usage) == (2.5, TokenUsage(270, 27))
    assert step.usage.total_tokens == 297
    assert [m.role for m in step.to_messages()] == ["assistant", "tool"]


def test_a_backend_that_reports_no_counts_gives_no_usage():
    agent = _agent(["Final Answer: 5"])
    step = agent.step([Message("user", "2+3?")])
    assert isinstance(step, FinalAnswerStep) and step.usage is None and step.seconds is not None
    assert _agent([]).finish_step(Completion("Final Answer: 5", prompt_tokens=9, completion_tokens=3)).usage == TokenUsage(9, 3)
    assert FormatErrorStep("raw", "bad").seconds is None  # built outside `step`: no time measured


def test_status_is_an_enum_that_reads_and_serialises_as_before():
    traj = Trajectory([Message("user", "q")], [], "context_overflow")
    assert traj.status is Status.CONTEXT_OVERFLOW and traj.status == "context_overflow"
    assert f"{traj.status}" == "context_overflow"
    assert json.loads(json.dumps(traj.to_json()))["status"] == "context_overflow"
    assert Trajectory.from_json(traj.to_json()).status is Status.CONTEXT_OVERFLOW
    assert [s.value for s in Status] == ["running", "final", "max_steps", "format_error", "stopped", "loop",
                                         "context_overflow", "plan_incomplete", "plan_limit"]
    with pytest.raises(TooltuneError, match=r"^unknown trajectory status 'done': use one of running, final"):
        Trajectory([], [], "done")


def test_a_run_ends_with_an_enum_status():
    assert _agent([CALC, "Final Answer: 5"]).run("2+3?").status is Status.FINAL
    assert _agent([CALC], max_steps=1).run("2+3?").status is Status.MAX_STEPS
