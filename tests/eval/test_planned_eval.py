"""`tooltune eval --plan`: planned runs scored at plan level with ScriptedLLM, their report rows
present only with --plan, and the CLI flag end to end."""

import json

import pytest
from typer.testing import CliRunner

from tooltune.agent.planning import PlanLimits
from tooltune.cli import app
from tooltune.eval.evaluate import ModelSpec, run_eval
from tooltune.eval.items import load_items, smoke_eval_path
from tooltune.eval.runner import EvalRunner, EvalSettings
from tooltune.llm import ScriptedLLM

from .helpers import gold_text


def call(name, **args):
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": args}) + "\n</tool_call>"


@pytest.fixture(scope="module")
def items():
    by_id = {i.id: i for i in load_items(smoke_eval_path())}
    return [by_id[x] for x in ("calc-en-1", "calc-zh-1", "calc-en-2", "search-en-1", "time-en-1")]


def teacher_forced(item):
    return [gold_text("json", item, ref) for ref in item.reference_steps()]


def script(items):
    """In the order a batch_size=1, no-free-run eval asks: each item's teacher-forced steps, then
    its planned run. Outcomes: complete + right, complete + wrong, limit, incomplete, and no planned
    run for the item without a reference answer (nothing to check it against)."""
    right, wrong, limit, incomplete, unchecked = items
    return [
        *teacher_forced(right),
        "1. Compute 23 * 47 + 12", call("calculator", expression="23 * 47 + 12"), "It is 1093.", "COMPLETE: 23 * 47 + 12 = 1093",
        *teacher_forced(wrong),
        "1. 计算 (15 + 27) * 3", "结果是 100。", "COMPLETE: 100",  # answered without the tool, wrongly
        *teacher_forced(limit),
        "1. Take the square root of 144\n2. Multiply by 3", '<tool_call>not json</tool_call>',  # invalid: no retries
        *teacher_forced(incomplete),
        "1. Search the population of Paris", call("web_search", query="population of Paris"), "Done.", "INCOMPLETE: no number found",
        *teacher_forced(unchecked),
    ]


SETTINGS = EvalSettings(format="json", free_run=False, plan=True, plan_limits=PlanLimits(max_subtasks=4, max_steps=16, max_retries=0, max_replans=0))


def test_plan_level_success_counts_each_ending(items, tmp_path):
    results = EvalRunner(ScriptedLLM(script(items)), SETTINGS, batch_size=1).run(items, tmp_path / "r.jsonl")
    plans = [r["plan"] for r in results]
    assert [(p["status"], p["success"], p["answer"]) for p in plans[:4]] == [
        ("final", True, "23 * 47 + 12 = 1093"),
        ("final", False, "100"),
        ("plan_limit", False, None),
        ("plan_incomplete", False, None),
    ]
    assert plans[4] is None
    assert [(p["subtasks"], p["steps"], p["tool_calls"]) for p in plans[:4]] == [(1, 4, 1), (1, 3, 0), (2, 1, 0), (1, 4, 1)]
    from tooltune.eval.aggregate import summarize

    s = summarize(results)
    assert (s["plan_items"], s["plan_success"], s["plan_incomplete"], s["plan_limit"]) == (4, 0.25, 0.25, 0.25)
    assert s["plan_subtasks"] == pytest.approx(5 / 4) and s["plan_steps"] == pytest.approx(12 / 4)
    assert s["tool_name_em"] == 1.0  # the teacher-forced steps are scored as before, beside the plans


def test_report_rows_only_with_plan(items, tmp_path):
    three = items[:3]
    llm = ScriptedLLM(script(items)[: sum(len(teacher_forced(i)) for i in three) + 9])
    with_plan = run_eval(three, [ModelSpec("m", lambda: llm)], ["json"], SETTINGS, tmp_path / "plan", "smoke", batch_size=1, progress=False)
    s = with_plan["runs"][0]["summary"]
    assert (s["plan_items"], s["plan_success"], s["plan_limit"]) == (3, pytest.approx(1 / 3), pytest.approx(1 / 3))
    assert with_plan["settings"]["plan"] is True and with_plan["settings"]["plan_limits"]["max_replans"] == 0
    md = (tmp_path / "plan" / "report.md").read_text()
    assert "| plan-level success (complete + right answer) | 0.333 |" in md
    assert "| planned: ended plan_limit | 0.333 |" in md and "| planned items | 3 |" in md

    gold = ScriptedLLM([t for i in three for t in teacher_forced(i)])
    plain = run_eval(three, [ModelSpec("m", lambda: gold)], ["json"], EvalSettings(format="json", free_run=False),
                     tmp_path / "plain", "smoke", batch_size=1, progress=False)
    assert "plan" not in plain["settings"] and not any(k.startswith("plan") for k in plain["runs"][0]["summary"])
    md = (tmp_path / "plain" / "report.md").read_text()
    assert "plan" not in md.lower()
    rows = [json.loads(line) for line in (tmp_path / "plain" / "runs" / "m__json.jsonl").read_text().splitlines()]
    assert all("plan" not in r for r in rows)


def test_cli_plan_flag(items, tmp_path, monkeypatch):
    data = tmp_path / "one.jsonl"
    data.write_text(json.dumps({"id": "calc-en-1", "reference_answer": "1093", **items[0].sample.to_openai()}) + "\n")
    llm = ScriptedLLM(script(items)[:6])
    monkeypatch.setattr("tooltune.llm.make_llm", lambda *a, **k: llm)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["eval", "--data", str(data), "--format", "json", "--no-free-run", "--plan", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "plan-level success 100% of 1" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["runs"][0]["summary"]["plan_success"] == 1.0 and report["settings"]["plan_limits"]["max_steps"] == 16
