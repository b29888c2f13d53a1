"""One test per parser tolerance (see cases.py), plus the failures that must stay failures."""

import pytest

from tooltune.formats import get_format
from tooltune.formats.parsing import loads_lenient, resolve_tool_name

from .cases import CASES, INVALID, TOOLS


@pytest.mark.parametrize("case_id,fmt,text,expected", CASES, ids=[c[0] for c in CASES])
def test_parser_tolerates(case_id, fmt, text, expected):
    got = get_format(fmt).parse(text, TOOLS).to_json()
    got.pop("reasoning", None)  # reasoning is pinned by tests/formats/test_reasoning.py
    assert got == expected


@pytest.mark.parametrize("case_id,fmt,text,needle", INVALID, ids=[c[0] for c in INVALID])
def test_unparseable_is_invalid_not_an_exception(case_id, fmt, text, needle):
    parsed = get_format(fmt).parse(text, TOOLS)
    assert parsed.kind == "invalid"
    assert needle.lower() in parsed.error.lower()


def test_react_thought_is_kept():
    parsed = get_format("react").parse('Thought: need the time\nAction: current_time\nAction Input: {"timezone": "UTC"}', TOOLS)
    assert parsed.thought == "need the time"


def test_react_final_thought_and_observation_cut():
    parsed = get_format("react").parse("Thought: done\nFinal Answer: 4\nQuestion: what else?", TOOLS)
    assert (parsed.kind, parsed.content, parsed.thought) == ("final", "4", "done")


def test_plain_text_is_a_lenient_final_answer():
    parsed = get_format("react").parse("2 + 3 = 5", TOOLS)
    assert parsed.kind == "final" and parsed.content == "2 + 3 = 5" and parsed.strict is False


def test_invented_names_are_not_fuzzily_resolved():
    names = ["calculator", "web_search", "current_time"]
    assert resolve_tool_name("calculater", names) == "calculator"  # a typo
    assert resolve_tool_name("web-search", names) == "web_search"
    assert resolve_tool_name("weather", names) is None  # an invention
    assert resolve_tool_name("search", names) is None


def test_valid_json_is_never_repaired_into_something_else():
    assert loads_lenient('{"a": "x, y", "b": [1, 2]}') == {"a": "x, y", "b": [1, 2]}
    assert loads_lenient('{"q": "他说“你好”"}') == {"q": "他说“你好”"}
