"""The specialisation corpus (data/synth/specialize.py): dialogues over one fixed tool list from
its schemas alone — values in the forms people write them, every call valid, real results for
Python tools, and a held-out side in shapes and values training never used."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from tooltune.data.synth.bank import stable_fraction
from tooltune.data.synth.requests import SHAPES, HELD_SHAPES
from tooltune.data.synth.schema_values import ZONES, draw, enum_glosses, param_kind
from tooltune.data.synth.specialize import Plan, synthesize
from tooltune.messages import Sample
from tooltune.tools import Tool, ToolRegistry, tool


def _spec(name, description, props, required):
    return Tool.from_openai({"type": "function", "function": {"name": name, "description": description,
                                                              "parameters": {"type": "object", "properties": props, "required": required}}})


@tool
def days_between(start: str, end: str) -> int:
    """Count the days between two dates.

    Args:
        start: First date, YYYY-MM-DD.
        end: Second date, YYYY-MM-DD.
    """
    from datetime import date

    return abs((date.fromisoformat(end) - date.fromisoformat(start)).days)


TOOLS = ToolRegistry([
    _spec("repo_status", "Shows the working tree status", {"repo_path": {"type": "string"}}, ["repo_path"]),
    _spec("switch_branch", "Switches branches", {"repo_path": {"type": "string"}, "branch_name": {"type": "string"}}, ["repo_path", "branch_name"]),
    _spec("get_current_time", "Get current time in a specific timezone",
          {"timezone": {"type": "string", "description": "IANA timezone name (e.g., 'America/New_York', 'Europe/London')"}}, ["timezone"]),
    days_between,
])


def test_kinds_come_from_names_descriptions_and_schemas():
    assert param_kind("repo_path", {"type": "string"}) == "repo_path"
    assert param_kind("branch_name", {"type": "string"}) == "branch"
    assert param_kind("tz", {"type": "string"}) == "timezone"
    assert param_kind("when", {"type": "string", "format": "date"}) == "date"
    assert param_kind("location", {"type": "string", "description": "城市名称"}) == "location"
    assert param_kind("n", {"anyOf": [{"type": "integer"}, {"type": "null"}]}) == "integer"
    assert enum_glosses({"enum": ["zhitian_emo", "zhizhe_emo"], "description": "zhitian_emo（女声），zhizhe_emo（男声）"}) == \
        {"zhitian_emo": "女声", "zhizhe_emo": "男声"}


def test_a_time_zone_is_asked_for_the_way_people_name_it():
    rng = random.Random(0)
    drawn = [draw("timezone", {"type": "string"}, "en", rng) for _ in range(200)]
    assert all(d.value in ZONES for d in drawn)
    said_by_city = [d for d in drawn if d.surface != d.value]
    assert len(said_by_city) > 100 and all(d.surface in ZONES[d.value][0] for d in said_by_city)


def _rows(held=False, n=120, langs=("en",)):
    return synthesize(Plan(TOOLS, list(langs), real={"days_between"}, held=held), n, seed=3)


def test_every_call_is_valid_and_every_tool_is_asked_for():
    rows = _rows()
    assert len(rows) == 120
    kinds = Counter(r["kind"] for r in rows)
    assert set(kinds) == {"single", "parallel", "chain", "ask", "no_fit", "knowledge"} - ({"chain"} if not kinds["chain"] else set())
    called = Counter()
    for r in rows:
        sample = Sample.from_openai(r["sample"])
        assert [t["function"]["name"] for t in sample.tools] == TOOLS.names  # one fixed tool list, one order
        for m in sample.messages:
            for c in m.tool_calls:
                assert TOOLS.get(c.name).validate(c.arguments) is None
                called[c.name] += 1
    assert set(called) == set(TOOLS.names)


def test_python_tools_return_their_real_result():
    for r in _rows():
        msgs = Sample.from_openai(r["sample"]).messages
        for m, result in zip(msgs, msgs[1:]):
            for c in m.tool_calls:
                if c.name == "days_between" and result.role == "tool" and result.tool_call_id == c.id:
                    assert result.content == str(days_between.func(**c.arguments))


def test_requests_state_the_values_their_calls_carry():
    for r in _rows():
        msgs = Sample.from_openai(r["sample"]).messages
        if r["kind"] != "single":
            continue
        for c in msgs[1].tool_calls:
            for name, value in c.arguments.items():
                if name in ("repo_path", "branch_name"):
                    assert str(value) in msgs[0].content


def test_no_fit_requests_are_answered_in_text_and_knowledge_replayed():
    rows = _rows()
    for r in rows:
        msgs = r["sample"]["messages"]
        if r["kind"] in ("no_fit", "knowledge"):
            assert len(msgs) == 2 and "tool_calls" not in msgs[1] and msgs[1]["content"]
    no_fit = [r["sample"]["messages"][0]["content"] for r in rows if r["kind"] == "no_fit"]
    assert no_fit and all(not any(w in q.lower() for w in ("status", "switch")) for q in no_fit)


def test_the_held_out_side_uses_other_shapes_and_values():
    train, held = _rows(), _rows(held=True, n=60)
    assert not {r["sample"]["messages"][0]["content"] for r in train} & {r["sample"]["messages"][0]["content"] for r in held}
    openers = [s.split("{")[0] for i, s in enumerate(SHAPES["en"]) if i in HELD_SHAPES["en"] and s.split("{")[0]]
    singles = [r["sample"]["messages"][0]["content"] for r in held if r["kind"] == "single"]
    assert singles and sum(q.startswith(tuple(openers)) for q in singles) >= len(singles) // 3
    zones = [json.loads(tc["function"]["arguments"])["timezone"] for r in held for m in r["sample"]["messages"]
             for tc in m.get("tool_calls", []) if tc["function"]["name"] == "get_current_time"]
    assert zones and all(stable_fraction(f"timezone:{z}") < 0.2 for z in zones)


@pytest.mark.parametrize("lang", ["zh"])
def test_chinese_requests(lang):
    rows = _rows(n=40, langs=(lang,))
    singles = [r["sample"]["messages"][0]["content"] for r in rows if r["kind"] == "single"]
    assert singles and all(any("\u4e00" <= ch <= "\u9fff" for ch in q) for q in singles)
