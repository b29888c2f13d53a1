"""Recipe v3's synthesis: restyled schemas stay consistent with their calls, enumerations become
one call per argument set, standard-library functions give their true results, and the knowledge
questions held out for the chat check never reach training."""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter

import pytest

from tooltune.data.synth.bank import load_bank, split_bank
from tooltune.data.synth.corpus import split_chat
from tooltune.data.synth.corpus_v3 import SynthV3, knowledge_check_items, load_knowledge
from tooltune.data.synth.dialogues import single
from tooltune.data.synth.pyfuncs import PyFunc, load_pyfuncs, py_episode
from tooltune.data.synth.realistic import intent, respectively, restyle, words
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


def test_noun_phrase_and_wh_descriptions_get_a_verb_and_templates_never_double_it():
    from tooltune.data.synth.realistic import compose, needs_verb

    assert [needs_verb(d) for d in ("Monthly payment for an amortising loan.", "Quote for car insurance.", "Whether a food is toxic to a pet.",
                                    "Record a workout session.", "Searches notes by keyword.", "Returns the sum.", "Adds 'prefix' to lines.")] \
        == [True, True, True, False, False, True, False]
    assert intent("Searches notes by keyword.", "en") == "search notes by keyword"
    rng = random.Random(0)
    qs = [compose("whether a food is toxic to a pet", [("food", "grapes")], "en", rng) for _ in range(60)]
    assert all(any(v + " whether" in q.lower() for v in ("tell me", "find out", "check")) for q in qs), qs
    qs = [compose("monthly payment", [], "en", rng) for _ in range(200)]
    assert not [q for q in qs if any(f"{t} {v} me" in q for t in ("Help me", "I need to", "I want to") for v in ("tell", "give"))]
    # a noun phrase is also asked the way knowledge questions are, and still gets its call
    asked = [q for q in qs if q.startswith(("Do you know the monthly", "I'd like to know the monthly", "Any idea about the monthly",
                                            "Do you happen to know the monthly"))]
    assert 40 <= len(asked) <= 100 and not [q for q in qs if "the the" in q.lower()]
    assert compose("the arc cosine of x", [], "en", random.Random(4)) == "Do you happen to know the arc cosine of x?"


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


@pytest.mark.timeout(30)
def test_a_real_call_that_never_ends_is_stopped_and_drawn_again():
    # Drawn by the v3 synthesis at its ~20,000th sample: textwrap loops forever on an indent wider than the width.
    fill = next(f for f in load_pyfuncs() if f.name == "textwrap.fill")
    endless = {"text": "The rain in Spain stays mainly in the plain.", "width": 14,
               "subsequent_indent": "The rain in Spain stays mainly in the plain.", "break_on_hyphens": False,
               "drop_whitespace": False, "placeholder": "café au lait"}
    with pytest.raises(TimeoutError):
        fill.execute(endless, seconds=0.2)
    assert fill.execute({"text": "hello world", "width": 5}) == "hello\nworld"  # the timer is gone: normal calls run


def test_the_call_guard_leaves_an_outer_timer_armed():
    import signal

    fired = []

    def handler(*_):
        fired.append(True)

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 5.0)  # as pytest-timeout arms its own
        gcd = next(f for f in load_pyfuncs() if f.name == "math.gcd")
        assert gcd.execute({"integers": [12, 18]}) == 6
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 4.0 < left <= 5.0 and signal.getsignal(signal.SIGALRM) is handler and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_knowledge_split_is_disjoint_and_big_enough_for_the_chat_check():
    train = load_knowledge()
    train_q = {q for pool in train.values() for q, _ in pool}
    held_q = {it["q"] for it in knowledge_check_items()}
    assert not train_q & held_q
    assert len(held_q) == 41  # >= 40 plain questions, the floor for the chat check
    assert load_knowledge(held_out=True) == {"en": [], "zh": []}  # no held-out answer was ever distilled
    # 20 of the base model's 45 kept English answers survived reading; the 34 Chinese ones are written
    assert len(train["en"]) == 20 and len(train["zh"]) == 34


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
    for k in ("single", "parallel", "knowledge", "lookup", "no_fit", "chat"):
        assert kinds[k] > 0, (k, kinds)
    assert calls > 300


def test_lookups_call_the_offered_search_tool_and_never_answer_knowledge_beside_it(train_tools):
    """With a search tool on offer a factual question is looked up (the built-in web_search
    verbatim half the time, with keywords as its query); the facts the shipped search documents
    hold (the multi-step set's) are never asked; no knowledge question is answered from memory
    while a search tool is offered."""
    from tooltune.data.synth.lookup import BUILTIN, DOCS_FACTS, SEARCH_TOOLS, keywords, lookup
    from tooltune.tools import builtin_registry

    assert builtin_registry().to_openai()[[t["function"]["name"] for t in builtin_registry().to_openai()].index("web_search")]["function"] == BUILTIN
    assert keywords("What is the population of Berlin?", "en") == "population of Berlin"
    assert keywords("Who painted the Mona Lisa?", "en") == "Who painted the Mona Lisa"
    assert keywords("请问西安的人口是多少？", "zh") == "西安的人口是多少"
    pool = [("What is the speed of light?", "c"), ("What is 12 times 12?", "144"), ("Who discovered penicillin?", "Alexander Fleming.")]
    asked = {lookup(SEARCH_TOOLS[0], "en", random.Random(seed), pool).question for seed in range(60)}
    assert "Who discovered penicillin?" in asked and not asked & {"What is the speed of light?", "What is 12 times 12?"}
    search_names = {t.name for t in SEARCH_TOOLS}
    synth = SynthV3(train_tools, split_chat()[0], seed=3)
    knowledge = {q for pool in synth.knowledge.values() for q, _ in pool}
    seen_builtin = lookups = 0
    for _ in range(400):
        sample, kinds, lang = synth.sample()
        offered = {t["function"]["name"] for t in sample.tools}
        if not offered & search_names:
            continue
        _check_calls(sample)
        msgs = sample.messages
        # the kinds a sample is recorded with (corpus rows, the mining draw) are its episodes'
        searched = sum(1 for m in msgs if m.tool_calls and m.tool_calls[0].name in search_names)
        assert (kinds.count("lookup"), len(kinds)) == (searched, sum(m.role == "user" for m in msgs)), (kinds, msgs)
        for i, m in enumerate(msgs):
            if m.role != "user":
                continue
            reply = msgs[i + 1]
            if reply.tool_calls and reply.tool_calls[0].name in search_names:
                assert not DOCS_FACTS.search(m.content), m.content
            if m.content in knowledge or "population" in m.content or "人口" in m.content:
                assert reply.tool_calls and reply.tool_calls[0].name in search_names, (m.content, reply)
        for m in msgs:
            for c in m.tool_calls:
                if c.name == "web_search":
                    seen_builtin += 1
                    assert set(c.arguments) == {"query"} and not c.arguments["query"].endswith("?")
                lookups += c.name in search_names
    assert lookups >= 15 and seen_builtin >= 5, (lookups, seen_builtin)


def test_no_fit_asks_for_an_unoffered_sibling_as_often_as_the_mix_says(train_tools, monkeypatch):
    """The near no-fit (BFCL irrelevance's shape): the request is for a tool of an offered tool's
    domain that is not on offer, and the answer is text, no call."""
    from tooltune.data.synth import corpus_v3

    asked = []
    real = corpus_v3.no_fit
    monkeypatch.setattr(corpus_v3, "no_fit", lambda absent, *a: asked.append(absent) or real(absent, *a))
    by_domain = {}
    for t in train_tools:
        by_domain.setdefault(t.domain, []).append(t)
    offers = [[tools[0]] for tools in by_domain.values() if len(tools) > 1]
    for near, want in ((1.0, len(offers)), (0.0, 0), (0.5, 28)):  # 28 of 56 domains at 0.5, seed 3
        synth = SynthV3(train_tools, split_chat()[0], seed=3, mix=corpus_v3.MixV3(near_no_fit=near))
        asked.clear()
        episodes = [synth._text_episode("no_fit", "en", offered) for offered in offers]
        assert all(ep.kind == "no_fit" and ep.steps == [] and ep.answer for ep in episodes)
        assert all(a.name != o[0].name for a, o in zip(asked, offers))
        assert sum(a.domain == o[0].domain for a, o in zip(asked, offers)) == want


def test_replies_name_only_offered_tools_after_restyling(train_tools):
    """A no-fit reply lists what the tools can do by name; once restyle renames the tools
    (get_planet_info -> space.getPlanetInfo) the reply must use the new names, or the sample
    teaches a tool name that is not on offer."""
    synth = SynthV3(train_tools, split_chat()[0], seed=4)
    bank_names = {t.name for t in train_tools}
    named = 0
    for _ in range(400):
        sample, _, _ = synth.sample()
        offered = {t["function"]["name"] for t in sample.tools}
        for m in sample.messages:
            if m.role == "assistant" and m.content:
                words_in = set(re.findall(r"[A-Za-z_][\w.]*", m.content))
                assert not (words_in & bank_names) - offered, (words_in & bank_names - offered, sorted(offered))
                named += bool(words_in & offered)
    assert named > 20  # replies do name tools, so the check above had something to check


def test_python_no_fit_offers_only_math_functions_that_cannot_do_the_request(train_tools, monkeypatch):
    """The math near miss: the request is for one math function, the offer holds 1-3 others, none
    of which can stand in for it (log10 beside log would be a fit, not a miss); no call is made."""
    from tooltune.data.synth import corpus_v3

    asked = []
    real = corpus_v3.py_episode
    monkeypatch.setattr(corpus_v3, "py_episode", lambda fn, *a: asked.append(fn) or real(fn, *a))
    synth = SynthV3(train_tools, split_chat()[0], seed=6)
    sizes = Counter()
    for _ in range(150):
        asked.clear()
        found = synth._python_sample("python_no_fit", "en")
        if found is None:
            continue
        sample, kinds = found
        short = asked[-1].name.split(".")[-1]
        offered = [t["function"]["name"].split(".")[-1] for t in sample.tools]
        assert kinds == ["no_fit"] and short not in offered
        assert not any(short in g and o in g for g in corpus_v3.SAME_JOB for o in offered), (short, offered)
        assert all(t["function"]["name"].startswith("math.") for t in sample.tools)
        reply = sample.messages[-1]
        assert reply.role == "assistant" and not reply.tool_calls and reply.content.startswith(("Sorry, I can't help", "I don't have a tool"))
        sizes[len(offered)] += 1
    assert set(sizes) == {1, 2, 3} and sizes[1] > sizes[2] + sizes[3], sizes


def test_knowledge_topics_name_train_questions_and_tools_that_cannot_look_them_up(train_tools):
    from tooltune.data.synth.corpus_v3 import topical_tools

    topics = topical_tools(train_tools)
    train_q = {q for pool in load_knowledge().values() for q, _ in pool}
    assert set(topics) <= train_q and len(topics) == 51, set(topics) - train_q
    assert all(topics.values()), [q for q, t in topics.items() if not t]  # every name resolves to a train-side tool
    names = {t.name for tools in topics.values() for t in tools}
    assert not {n for n in names if "search" in n.lower() or "lookup" in n.lower()}
    assert "is_prime" in {t.name for t in topics["What is a prime number?"]}


def test_topical_knowledge_offers_the_questions_own_topic_as_often_as_the_mix_says(train_tools):
    """A knowledge question beside tools of its own topic, answered in text with no call."""
    from dataclasses import replace

    from tooltune.data.synth import corpus_v3

    only_knowledge = replace(corpus_v3.MixV3(), **{k: float(k == "knowledge") for k in corpus_v3.MixV3().kinds()[0]}, restyled=0.0)
    drawn = {}
    for share in (1.0, 0.5, 0.0):
        synth = SynthV3(train_tools, split_chat()[0], seed=2, mix=replace(only_knowledge, topical_knowledge=share))
        drawn[share] = [synth._topical(lang) for lang in ["en", "zh"] * 50]
        for ep, near in drawn[share]:
            assert (ep is None) == (near == []) and (ep is None or (ep.steps == [] and near == synth.topical[ep.question]))
        beside = 0
        for _ in range(40):
            sample, _, _ = synth.sample()
            offered = {t["function"]["name"] for t in sample.tools}
            users = [m.content for m in sample.messages if m.role == "user"]
            assert not any(m.tool_calls for m in sample.messages)
            beside += any(offered & {t.name for t in synth.topical.get(q, [])} for q in users)
        assert beside == {1.0: 38, 0.5: 23, 0.0: 5}[share], (share, beside)
    assert [sum(ep is not None for ep, _ in drawn[s]) for s in (1.0, 0.5, 0.0)] == [96, 45, 0]


def test_per_tool_list_draws_k_requests_over_one_prompt(train_tools, smol_tokenizer):
    """MixV3.per_tool_list = K: K samples in a row share tools and system turn, so the dataset
    builder groups them behind one prompt (train/tree.py); then a new tool list is drawn. Samples
    over Python functions and look-ups build their own lists and stay one per list."""
    from itertools import groupby

    from tooltune.data.synth import corpus_v3
    from tooltune.train.dataset import build_corpus
    from tooltune.train.tree import tree_rows

    synth = SynthV3(train_tools, split_chat()[0], seed=5, mix=corpus_v3.MixV3(per_tool_list=4))
    samples = [synth.sample()[0] for _ in range(40)]
    heads = [json.dumps([s.tools, [m.to_openai() for m in s.messages if m.role == "system"]], sort_keys=True) for s in samples]
    runs = [len(list(g)) for _, g in groupby(heads)]
    assert set(runs[:-1]) == {1, 4} and runs[-1] <= 4 and runs.count(4) >= 5, runs
    assert len(set(heads)) == len(runs)  # a list never comes back
    assert len({json.dumps([m.to_openai() for m in s.messages], sort_keys=True) for s in samples}) == 40  # no request repeated
    built = build_corpus(samples, smol_tokenizer, "json", max_length=8192)
    grouped = sorted(len(r.branches) for r in tree_rows(built.train, 8192) if r.prefix)
    assert grouped == sorted(n for n in runs if n > 1)  # each list's samples behind one prefix
