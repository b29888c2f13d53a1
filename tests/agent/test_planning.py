"""Planning with ScriptedLLM: plan → sub-tasks → reflection, retries and re-plans after a failing
tool, and the step / retry / re-plan limits with their final messages."""

import json

import pytest

from tooltune.agent import Agent
from tooltune.agent.planning import PlanLimits, Planner, parse_plan
from tooltune.errors import TooltuneError
from tooltune.llm import ScriptedLLM
from tooltune.messages import Sample
from tooltune.tools import Tool, ToolRegistry, builtin_registry


def call(name, **args):
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": args}) + "\n</tool_call>"


def broken_registry():
    def fetch_price(item: str) -> str:
        """Look up a price in the shop database.

        Args:
            item: the item
        """
        raise ConnectionError("shop database unreachable")

    return ToolRegistry([*builtin_registry().select(["calculator"]), Tool.from_function(fetch_price)])


def planner(script, tools=None, **limits):
    agent = Agent(ScriptedLLM(script), tools or builtin_registry().select(["calculator"]), "json", max_steps=4)
    return Planner(agent, PlanLimits(**limits))


def test_parse_plan_reads_numbered_lines_only():
    assert parse_plan("Plan:\n1. find A\n2) add B\n3、除以 2\nthanks", 6) == ["find A", "add B", "除以 2"]
    assert parse_plan("1. a\n2. b\n3. c", 2) == ["a", "b"]
    assert parse_plan("just do it", 6) == []


def test_a_plan_runs_each_subtask_then_reflects():
    script = [
        "1. Multiply 23 by 47\n2. Add 12 to that",
        call("calculator", expression="23*47"), "1081",
        call("calculator", expression="1081+12"), "1093",
        "COMPLETE: 23*47+12 = 1093",
    ]
    p = planner(script)
    result = p.run("What is 23*47+12?")
    assert (result.status, result.answer, result.message) == ("complete", "23*47+12 = 1093", "the task is complete")
    assert [(s.text, s.status, s.result) for s in result.subtasks] == [("Multiply 23 by 47", "done", "1081"), ("Add 12 to that", "done", "1093")]
    traj = result.trajectory
    assert traj.status == "final" and result.steps == 6
    roles = [m.role for m in traj.messages]
    assert roles == ["user", "assistant", "user", "assistant", "tool", "assistant", "user", "assistant", "tool", "assistant", "user", "assistant"]
    assert traj.messages[2].content.startswith("Sub-task 1/2: Multiply 23 by 47")
    assert traj.messages[4].content == '{"result": 1081}' and traj.messages[8].content == '{"result": 1093}'  # tools ran for real
    assert Sample.from_openai(traj.sample().to_openai()).to_openai() == traj.sample().to_openai()  # a canonical sample
    kinds = [e.kind for e in traj.events if e.kind in ("plan", "subtask", "reflection", "stopped")]
    assert kinds == ["plan", "subtask", "subtask", "reflection", "stopped"]


def test_a_failing_tool_is_retried_then_replanned():
    script = [
        "1. Look up the price of tea",
        call("fetch_price", item="tea"), "I could not get it.",           # attempt 1: the tool fails
        call("fetch_price", item="green tea"), "Still nothing.",          # retry: fails again
        "1. Compute the price from the known unit price: 3 * 4",          # re-plan
        call("calculator", expression="3*4"), "12",
        "COMPLETE: the tea costs 12",
    ]
    result = planner(script, broken_registry(), max_retries=1, max_replans=1).run("How much do 3 boxes of tea cost?")
    assert result.status == "complete" and result.answer == "the tea costs 12" and result.replans == 1
    assert [(s.text, s.status, s.attempts) for s in result.subtasks] == [
        ("Compute the price from the known unit price: 3 * 4", "done", 1),
    ]
    users = [m.content for m in result.trajectory.messages if m.role == "user"]
    assert users[2] == "Sub-task 1 failed: the tool failed: error: ConnectionError: shop database unreachable. Try it another way (another tool or other arguments)."
    assert users[3].startswith("Sub-task 1 (Look up the price of tea) failed: the tool failed")
    subtask_events = [e.data for e in result.trajectory.events if e.kind == "subtask"]
    assert [(e["attempt"], e["status"]) for e in subtask_events] == [(1, "failed"), (2, "failed"), (1, "done")]


def test_the_replan_limit_stops_with_a_clear_message():
    script = ["1. Look up the price of tea", call("fetch_price", item="tea"), "no luck"]
    result = planner(script, broken_registry(), max_retries=0, max_replans=0).run("Price of tea?")
    assert result.status == "limit" and result.trajectory.status == "plan_limit"
    assert result.message == (
        "stopped: sub-task 1 (Look up the price of tea) failed 1 time(s) and the re-plan limit (0) is reached: "
        "the tool failed: error: ConnectionError: shop database unreachable"
    )


def test_the_step_limit_stops_with_a_clear_message():
    script = ["1. a\n2. b\n3. c", call("calculator", expression="1+1"), "2", call("calculator", expression="2+2")]
    result = planner(script, max_steps=4).run("q")
    assert result.status == "limit" and result.steps == 4
    assert result.message == "stopped: the step limit (4) was reached in sub-task 2 (b): the sub-run ended with status max_steps"
    assert [s.status for s in result.subtasks] == ["done", "failed", "pending"]


def test_an_incomplete_reflection_without_replans_left_is_reported():
    script = ["1. Multiply", call("calculator", expression="2*3"), "6", "INCOMPLETE: the sum is still missing"]
    result = planner(script, max_replans=0).run("2*3, then add 4")
    assert result.status == "incomplete" and result.answer is None
    assert result.message == "stopped: the reflection says the task is not complete (the sum is still missing) and the re-plan limit (0) is reached"


def test_a_reply_without_a_verdict_is_not_complete():
    script = ["1. Multiply", call("calculator", expression="2*3"), "6", "Task: 2*3"]
    result = planner(script, max_replans=0).run("2*3")
    assert result.status == "incomplete"
    assert result.message == "stopped: the reflection says the task is not complete (no COMPLETE/INCOMPLETE verdict in 'Task: 2*3') and the re-plan limit (0) is reached"
    bold = planner(["1. Multiply", call("calculator", expression="2*3"), "6", "**COMPLETE:** 6"]).run("2*3")
    assert (bold.status, bold.answer) == ("complete", "6")


def test_limits_are_checked():
    with pytest.raises(TooltuneError, match="plan limits"):
        PlanLimits(max_steps=1).check()


def test_cli_run_plan_prints_the_plan_subtasks_and_the_outcome(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import tooltune.llm
    from tooltune.cli import app

    script = ["1. Multiply 23 by 47\n2. Add 12", call("calculator", expression="23*47"), "1081",
              call("calculator", expression="1081+12"), "1093", "COMPLETE: 1093"]
    monkeypatch.setattr(tooltune.llm, "make_llm", lambda *a, **k: ScriptedLLM(script))
    args = ["run", "--plan", "--format", "json", "--tools", "calculator,current_time,web_search", "--max-tools", "1",
            "--memory", str(tmp_path / "m.db"), "--save", str(tmp_path / "t.json"), "What is 23*47+12?"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "plan:\n  1. Multiply 23 by 47\n  2. Add 12" in out
    assert "sub-task 1 done (attempt 1)" in out and "sub-task 2 done (attempt 1)" in out
    assert "Plan complete: the task is complete\nAnswer: 1093" in out
    saved = json.loads((tmp_path / "t.json").read_text())
    assert saved["status"] == "final" and saved["messages"][-1]["content"] == "COMPLETE: 1093"
    selected = [e["data"]["tools"] for e in saved["events"] if e["kind"] == "tools_selected"]
    assert selected and selected[0][0] == "calculator"  # BM25 picked the calculator for "Multiply 23 by 47"
