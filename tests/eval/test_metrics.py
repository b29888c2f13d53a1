"""Metric unit tests with hand-computed expectations."""

import math

import pytest

from tooltune.data.rubric import human_rubric
from tooltune.eval.aggregate import summarize
from tooltune.eval.answers import answer_matches, verdict_is_yes
from tooltune.eval.metrics import (
    MatchOptions, argument_text, fuzzy_calls, match_calls, score_step, text_similarity, values_equal,
)
from tooltune.messages import ToolCall

LENIENT = MatchOptions(string_numbers=True)

SEARCH = {"type": "function", "function": {"name": "web_search", "parameters": {
    "type": "object", "required": ["query"],
    "properties": {"query": {"type": "string"}, "top_k": {"type": "integer", "default": 3}, "site": {"type": "string"}},
}}}
ROUTE = {"type": "function", "function": {"name": "route", "parameters": {
    "type": "object", "required": ["filters"],
    "properties": {"filters": {"type": "object", "properties": {
        "min": {"type": "number"}, "unit": {"type": "string", "default": "km"}}}},
}}}
TOOLS = [SEARCH, ROUTE]


def search(**args):
    return ToolCall("web_search", args)


# -- values ------------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b, strict, lenient", [
    (70, "70", False, True),          # a number sent as a string: configurable
    ("70", 70.0, False, True),
    (1, 1.0, True, True),             # numbers by value
    (0.1 + 0.2, 0.3, True, True),
    (True, 1, False, False),          # a bool is not a number
    ("seventy", 70, False, False),
    ("abc", "ABC", False, False),
    (None, None, True, True),
    ([1, 2], [2, 1], False, False),   # lists keep their order
    ([1, 2], [1.0, 2], True, True),
])
def test_values_equal_type_aware(a, b, strict, lenient):
    assert values_equal(a, b) is strict
    assert values_equal(a, b, opts=LENIENT) is lenient


def test_normalize_strings_option():
    assert not values_equal("New  York", "new york")
    assert values_equal("New  York", "new york", opts=MatchOptions(normalize_strings=True))


# -- calls (AST match) ------------------------------------------------------------------------
@pytest.mark.parametrize("expected, predicted, ok", [
    ({"query": "paris"}, {"query": "paris"}, True),
    ({"query": "paris"}, {"query": "paris", "top_k": 3}, True),      # optional arg = its default
    ({"query": "paris", "top_k": 3}, {"query": "paris"}, True),      # default omitted
    ({"query": "paris"}, {"query": "paris", "top_k": 5}, False),     # optional arg, not the default
    ({"query": "paris", "top_k": 5}, {"query": "paris"}, False),     # a non-default value left out
    ({"query": "paris", "site": "x.org"}, {"query": "paris"}, False),  # optional without default, left out
    ({"query": "paris"}, {"query": "paris", "site": "x.org"}, False),
    ({"query": "paris"}, {}, False),                                 # required arg missing
    ({"query": "paris"}, {"query": "paris", "lang": "en"}, False),   # unknown extra arg
    ({"query": "paris", "top_k": 3}, {"query": "paris", "top_k": 3.0}, True),
])
def test_match_calls_arguments(expected, predicted, ok):
    assert match_calls([search(**expected)], [search(**predicted)], TOOLS) is ok


def test_string_number_argument_configurable():
    assert not match_calls([search(query="q", top_k=5)], [search(query="q", top_k="5")], TOOLS)
    assert match_calls([search(query="q", top_k=5)], [search(query="q", top_k="5")], TOOLS, LENIENT)


def test_parallel_calls_order_insensitive_but_counted():
    a, b = search(query="beijing"), search(query="shanghai")
    assert match_calls([a, b], [search(query="shanghai"), search(query="beijing")], TOOLS)
    assert not match_calls([a, b], [search(query="beijing"), search(query="beijing")], TOOLS)
    assert not match_calls([a, b], [search(query="beijing")], TOOLS)
    assert not match_calls([a], [a, b], TOOLS)


def test_nested_objects_with_nested_defaults():
    expected = [ToolCall("route", {"filters": {"min": 1}})]
    assert match_calls(expected, [ToolCall("route", {"filters": {"min": 1.0, "unit": "km"}})], TOOLS)
    assert not match_calls(expected, [ToolCall("route", {"filters": {"min": 1, "unit": "mi"}})], TOOLS)
    assert not match_calls(expected, [ToolCall("route", {"filters": {"min": 2}})], TOOLS)
    assert not match_calls(expected, [ToolCall("route", {"filters": [1]})], TOOLS)


def test_wrong_tool_name_never_matches():
    assert not match_calls([search(query="q")], [ToolCall("calculator", {"query": "q"})], TOOLS)


# -- fuzzy ------------------------------------------------------------------------------------
def test_argument_text_tokens():
    assert argument_text({"query": "Population of Paris"}) == "population of paris"
    assert argument_text({"expression": "2+3"}) == "2 + 3"          # operators are tokens
    assert argument_text({"q": "北京 人口"}) == "北 京 人 口"          # Chinese per character
    assert argument_text({"b": 2, "a": {"x": "hi"}}) == "hi 2"       # keys sorted, nested flattened


def test_rouge_l_hand_computed():
    # LCS("population of paris", "paris population") = 1: P = 1/2, R = 1/3, F = 2PR/(P+R) = 0.4
    rouge, _ = text_similarity("population of paris", "paris population")
    assert rouge == pytest.approx(0.4)
    # LCS = 2: P = 1, R = 2/3, F = 0.8
    assert text_similarity("population of paris", "population paris")[0] == pytest.approx(0.8)
    assert text_similarity("", "") == (1.0, 1.0)
    assert text_similarity("a", "") == (0.0, 0.0)


def test_bleu_hand_computed():
    # hypothesis "population paris" vs reference "population of paris", effective order 2:
    # p1 = 2/2, p2 = 0/1 -> exp smoothing 1/(2*1) = 0.5; BP = exp(1 - 3/2)
    _, bleu = text_similarity("population of paris", "population paris")
    assert bleu == pytest.approx(math.exp(1 - 3 / 2) * math.sqrt(1.0 * 0.5), abs=1e-4)
    assert text_similarity("a b c d", "a b c d")[1] == pytest.approx(1.0)


def test_fuzzy_parallel_pairs_best_and_counts_missing_calls():
    expected = [search(query="beijing population"), search(query="shanghai population")]
    assert fuzzy_calls(expected, [search(query="shanghai population"), search(query="beijing population")], TOOLS)[0] == pytest.approx(1.0)
    # one of two calls made, identical: (1 + 0) / max(2, 1)
    assert fuzzy_calls(expected, [search(query="beijing population")], TOOLS)[0] == pytest.approx(0.5)
    # an extra call costs too: 1 / max(1, 2)
    assert fuzzy_calls(expected[:1], expected, TOOLS)[0] == pytest.approx(0.5)
    # a default-valued optional argument adds no tokens
    assert fuzzy_calls([search(query="paris")], [search(query="paris", top_k=3)], TOOLS)[0] == pytest.approx(1.0)


# -- the step score ---------------------------------------------------------------------------
def test_combined_score_hand_computed():
    expected = [search(query="population of paris")]
    near = score_step(expected, "tool_calls", [search(query="population paris")], True, TOOLS, lam=0.5)
    assert (near.name_match, near.args_match) == (True, False)
    assert near.score == pytest.approx(1 + 0.5 * 0.8)  # EM(tool) + λ·ROUGE-L
    exact = score_step(expected, "tool_calls", [search(query="population of paris")], True, TOOLS, lam=2.0)
    assert exact.args_match and exact.score == pytest.approx(3.0)
    wrong = score_step(expected, "tool_calls", [ToolCall("route", {"filters": {}})], True, TOOLS)
    assert (wrong.name_match, wrong.score) == (False, 0.0)
    missed = score_step(expected, "final", [], True, TOOLS)
    assert (missed.called, missed.score) == (False, 0.0)


def test_no_call_steps_are_all_or_nothing():
    right = score_step([], "final", [], False, TOOLS, lam=1.0)
    assert right.valid and not right.strict and right.args_match and right.score == 2.0
    spurious = score_step([], "tool_calls", [search(query="x")], True, TOOLS, lam=1.0)
    assert spurious.called and not spurious.args_match and spurious.score == 0.0
    invalid = score_step([], "invalid", [], False, TOOLS)
    assert not invalid.valid and invalid.score == 0.0


def _step(expect_call, called, name=True, args=True):
    return {"expect_call": expect_call, "called": called, "valid": True, "strict": True, "name_match": name,
            "args_match": args, "rouge_l": float(args), "bleu": float(args), "score": 2.0 * args,
            "expected": [{"name": "web_search", "arguments": {}}] if expect_call else [], "parsed": {}}


def test_call_precision_recall_and_no_call_accuracy():
    results = [
        {"lang": "en", "expect_tool_call": True, "steps": [_step(True, True), _step(False, False)], "free_run": None, "e2e": None},
        {"lang": "en", "expect_tool_call": True, "steps": [_step(True, False, False, False)], "free_run": None, "e2e": None},
        {"lang": "zh", "expect_tool_call": False, "steps": [_step(False, True, False, False)], "free_run": None, "e2e": {"success": True}},
        {"lang": "zh", "expect_tool_call": False, "steps": [_step(False, False)], "free_run": None, "e2e": {"success": False}},
    ]
    s = summarize(results)
    # should call: 2 steps, called 1 (tp); should not: 3 steps, called 1 (fp)
    assert s["call_precision"] == pytest.approx(1 / 2)
    assert s["call_recall"] == pytest.approx(1 / 2)
    assert s["no_call_accuracy"] == pytest.approx(2 / 3)
    assert s["hard_negative_accuracy"] == pytest.approx(1 / 2)
    assert s["args_em"] == pytest.approx(1 / 2)
    assert s["e2e_success"] == pytest.approx(1 / 2) and s["e2e_items"] == 2
    assert s["trajectory_match"] is None  # nothing to count is not a 0


def test_human_rubric_usable_and_violations():
    rubric = human_rubric([("en", 5), ("en", 4), ("en", 2), ("zh", 0), ("zh", None)])
    assert rubric["samples"] == 5 and rubric["scored"] == 4
    assert rubric["mean"] == pytest.approx(11 / 4)
    assert rubric["usable_rate"] == pytest.approx(2 / 4)
    assert rubric["violations"] == 1
    assert rubric["per_lang"]["zh"]["usable_rate"] == 0.0


def test_answer_matching():
    assert answer_matches("The result is 1,093.", ["1093"], "contains")
    assert answer_matches("约4,680万", ["4680"], "contains")
    assert not answer_matches("The result is 1093.", ["1093"], "exact")
    assert answer_matches("Rome.", ["rome", "Roma"], "exact")
    assert not answer_matches("10930", ["1093 apples"], "contains")
    assert verdict_is_yes("YES, it matches") and not verdict_is_yes("No.") and verdict_is_yes("是的") and not verdict_is_yes("")


def test_a_step_with_a_cut_off_call_is_counted_truncated_never_right():
    """Issue 35: the complete call matches the reference, but the step also held a call cut off
    mid-way (never run): it counts as truncated, not as a correct step."""
    expected = [search(query="paris")]
    whole = score_step(expected, "tool_calls", [search(query="paris")], True, TOOLS)
    assert (whole.name_match, whole.args_match, whole.truncated, whole.score) == (True, True, 0, 2.0)
    cut = score_step(expected, "tool_calls", [search(query="paris")], True, TOOLS, truncated=1)
    assert (cut.valid, cut.called, cut.name_match, cut.args_match, cut.truncated) == (True, True, False, False, 1)
    assert cut.rouge_l == 0.5 and cut.score == 0.5  # one of two calls (the cut one scores 0)
    only_cut = score_step(expected, "invalid", [], True, TOOLS, truncated=1)
    assert (only_cut.valid, only_cut.args_match, only_cut.truncated, only_cut.score) == (False, False, 1, 0.0)
    no_call_step = score_step([], "invalid", [], True, TOOLS, truncated=1)
    assert (no_call_step.args_match, no_call_step.score, no_call_step.to_json()["truncated"]) == (False, 0.0, 1)
