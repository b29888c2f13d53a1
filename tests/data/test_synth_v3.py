"""Recipe v3's synthesis: restyled schemas stay consistent with their calls, enumerations become
one call per argument set, standard-library functions give their true results, and the knowledge
questions held out for the chat check never reach training."""

from __future__ import annotations

import json
import math
import random

import pytest

from tooltune.data.synth.bank import load_bank, split_bank
from tooltune.data.synth.corpus import split_chat
from tooltune.data.synth.corpus_v3 import SynthV3, knowledge_check_items, load_knowledge
from tooltune.data.synth.dialogues import single
from tooltune.data.synth.realistic import PyFunc, intent, load_pyfuncs, py_episode, respectively, restyle, words
from tooltune.messages import Sample
from tooltune.tools import Tool


@pytest.fixture(scope="module")
def train_tools():
    return split_bank(load_bank(), 0.2)[0]


def test_words_and_intent():
    assert words("maxResults") == "max results"
    assert words("get_weather.v2") == "get weather v2"
    assert intent("Returns the arc cosine of x. Result in radians.", "en") == "the arc cosine of x"
    assert intent("Adds 'prefix' to the beginning of lines.", "en") == "add 'prefix' to the beginning of lines"
    assert intent("Book a table at a restaurant.", "en") == "book a table at a restaurant"
    assert intent("获取某个城市未来几天的天气预报。", "zh") == "获取某个城市未来几天的天气预报"


def _check_calls(sample: Sample) -> int:
    """Every call names an offered tool and its arguments pass that tool's schema; returns the count."""
    tools = {t["function"]["name"]: Tool.from_openai(t) for t in sample.tools}
    n = 0
    for m in sample.messages:
        for c in m.tool_calls:
            assert c.name in tools, (c.name, list(tools))
            assert tools[c.name].validate(c.arguments) is None, (c.name, c.arguments, tools[c.name].parameters)
            n += 1
    return n


def test_restyle_renames_tools_params_and_calls_together(train_tools):
    rng = random.Random(5)
    styles, string_ints = set(), 0
    for i in range(200):
        tool = train_tools[i % len(train_tools)]
        ep = single(tool, "en", rng)
        before = Sample(ep.messages([0]), [tool.spec("en")])
        after = restyle(before, rng, {tool.name: tool.domain})
        assert _check_calls(after) == 1
        call_before = before.messages[1].tool_calls[0]
        call_after = after.messages[1].tool_calls[0]
        assert len(call_after.arguments) == len(call_before.arguments)
        assert after.messages[2].name == call_after.name  # the tool result follows the renaming
        styles.add("dotted" if "." in call_after.name else "camel" if any(ch.isupper() for ch in call_after.name) else "snake")
        string_ints += sum(isinstance(v, str) and isinstance(call_before.arguments[k], int) and str(call_before.arguments[k]) == v
                           for k, v in zip(call_before.arguments, call_after.arguments.values()))
    assert styles == {"dotted", "camel", "snake"}
    assert string_ints > 0  # integers typed as strings in some schemas, and their values written as strings


def test_respectively_makes_one_call_per_argument_set(train_tools):
    rng = random.Random(2)
    tool = next(t for t in train_tools if t.name == "get_weather_forecast") if any(t.name == "get_weather_forecast" for t in train_tools) else train_tools[0]
    ep = respectively(tool, "en", rng, n=4)
    assert ep is not None and ep.kind == "parallel"
    calls = ep.steps[0]
    assert len(calls) == 4
    assert len({json.dumps(c.args, sort_keys=True) for c in calls}) == 4
    for c in calls:  # every varying value is stated in the question
        for v in c.args.values():
            if isinstance(v, str):
                assert v in ep.question


def test_python_function_results_are_true():
    fn = next(f for f in load_pyfuncs() if f.name == "math.comb")
    ep, result = py_episode(fn, random.Random(0))
    (call,) = ep.steps[0]
    assert result == math.comb(call.args["n"], call.args["k"])
    msgs = ep.messages([0])
    assert json.loads(msgs[2].content) == {"result": math.comb(call.args["n"], call.args["k"])}


def test_no_benchmark_function_reaches_the_corpus(train_tools):
    """Functions BFCL offers under the same name are left out of the v3 corpus (ON_BENCHMARK),
    and that list is complete for every BFCL category."""
    from tooltune.data.synth.corpus_v3 import ON_BENCHMARK

    synth = SynthV3(train_tools, split_chat()[0], seed=0)
    assert not {f.name for f in synth.pyfuncs} & ON_BENCHMARK
    pytest.importorskip("bfcl_eval")
    from tooltune.eval.bfcl import load_items, parse_categories

    py = {f.name.replace(".", "_"): f.name for f in synth.pyfuncs}
    offered = {t["function"]["name"] for it in load_items(parse_categories("all"), limit=None, seed=0) for t in it.tools}
    assert not offered & set(py), sorted(offered & set(py))


def test_python_function_positional_only_and_varargs():
    gcd = PyFunc("math", "math.gcd", "Greatest common divisor.", {"integers": {"type": "array", "items": {"type": "integer"}}},
                 ["integers"], [], "integers")
    assert gcd.execute({"integers": [12, 18, 30]}) == 6
    hypot = next(f for f in load_pyfuncs() if f.name == "math.pow")
    assert hypot.execute({"x": 2, "y": 10}) == 1024


def test_knowledge_split_is_disjoint_and_big_enough_for_the_chat_check():
    train = load_knowledge()
    train_q = {q for pool in train.values() for q, _ in pool}
    held_q = {it["q"] for it in knowledge_check_items()}
    assert not train_q & held_q
    assert len(held_q) == 41  # >= 40 plain questions, the floor for the chat check
    assert load_knowledge(held_out=True) == {"en": [], "zh": []}  # no held-out answer was ever distilled
    assert len(train["en"]) > 30 and len(train["zh"]) >= 10


def test_v3_samples_are_valid_and_mixed(train_tools):
    synth = SynthV3(train_tools, split_chat()[0], seed=1)
    held = {it["q"] for it in knowledge_check_items()}
    calls = 0
    for _ in range(300):
        sample, kinds, _ = synth.sample()
        calls += _check_calls(sample)
        users = {m.content for m in sample.messages if m.role == "user"}
        assert not users & held  # held-out knowledge questions never reach training
    kinds = synth.kinds
    for k in ("single", "parallel", "knowledge", "no_fit", "chat"):
        assert kinds[k] > 0, (k, kinds)
    assert calls > 300
