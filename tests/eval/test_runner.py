"""The eval runner on the shipped smoke set with scripted completions: a perfect model scores
perfectly in every format, mistakes are counted where they happen, and a crash resumes."""

import json

import pytest

from tooltune.errors import TooltuneError
from tooltune.eval.aggregate import per_tool, summarize
from tooltune.eval.answers import AnswerJudge
from tooltune.eval.items import load_items, make_item, smoke_eval_path
from tooltune.eval.runner import EvalRunner, EvalSettings, load_results
from tooltune.llm import ScriptedLLM
from tooltune.messages import Message, Sample, ToolCall

from .helpers import PromptReadingLLM, gold_llm, gold_script


@pytest.fixture(scope="module")
def items():
    return load_items(smoke_eval_path())


def by_id(items, *ids):
    return [next(i for i in items if i.id == x) for x in ids]


def test_smoke_set_shape(items):
    assert len(items) == 12
    assert {i.lang for i in items} == {"en", "zh"}
    assert sum(not i.expect_tool_call for i in items) == 3
    assert sum(len(i.reference_call_groups()) > 1 for i in items) == 2  # multi-step items
    assert any(len(g) > 1 for i in items for g in i.reference_call_groups())  # a parallel step
    assert sum(bool(i.reference_answers) for i in items) == 8
    names = {n for i in items for n in i.reference_tools()}
    assert names == {"calculator", "current_time", "web_search"}


@pytest.fixture
def native_llm(items, smol_tokenizer):
    import copy

    return PromptReadingLLM(items, copy.deepcopy(smol_tokenizer))


@pytest.mark.parametrize("fmt", ["react", "json", "native"])
def test_perfect_model_scores_perfectly(items, fmt, tmp_path, request):
    llm = request.getfixturevalue("native_llm") if fmt == "native" else gold_llm(fmt, items)
    runner = EvalRunner(llm, EvalSettings(format=fmt), batch_size=1)
    results = runner.run(items, tmp_path / "r.jsonl")
    s = summarize(results)
    for key in ("format_validity", "strict_format", "tool_name_em", "args_em", "rouge_l", "call_precision",
                "call_recall", "no_call_accuracy", "hard_negative_accuracy", "trajectory_match", "tool_sequence_match", "e2e_success"):
        assert s[key] == pytest.approx(1.0), key
    assert s["score"] == pytest.approx(2.0)
    assert s["e2e_items"] == 8 and s["free_runs"] == 12
    # ReAct asks for the two parallel searches one after the other (it stops at Observation:)
    assert s["steps"] == (24 if fmt == "react" else 23)
    if fmt == "native":  # every answer was read off a prompt the model's template rendered, tools listed
        assert llm.prompts and all(p.startswith("TOOLS: ") and p.endswith("<|assistant|>") for p in llm.prompts)


def test_mistakes_are_counted_where_they_happen(items, tmp_path):
    calc, haiku = by_id(items, "calc-en-1", "neg-en-1")
    llm = ScriptedLLM([
        "The answer is 1093.",                      # calc step 0: answers without the tool
        "Final Answer: 23 * 47 + 12 = 1093",        # calc step 1 (after the gold observation)
        'Thought: search\nAction: web_search\nAction Input: {"query": "autumn haiku"}\nObservation:',  # haiku: spurious call
        "Final Answer: leaves fall",                  # haiku free-run step 2, after a real search
    ])
    results = EvalRunner(llm, EvalSettings(format="react"), batch_size=1).run([calc, haiku], tmp_path / "r.jsonl")
    s = summarize(results)
    assert (s["steps"], s["call_steps"]) == (3, 1)
    assert s["format_validity"] == 1.0 and s["strict_format"] == pytest.approx(2 / 3)  # plain text is lenient
    assert s["tool_name_em"] == 0.0 and s["call_recall"] == 0.0 and s["call_precision"] == 0.0
    assert s["no_call_accuracy"] == pytest.approx(1 / 2) and s["hard_negative_accuracy"] == 0.0
    assert s["e2e_success"] == 1.0 and s["e2e_items"] == 1  # the answer is right even without the tool
    assert s["trajectory_match"] == 0.0
    free = results[1]["free_run"]
    assert free["calls"] == [[{"name": "web_search", "arguments": {"query": "autumn haiku"}}]] and free["status"] == "final"
    table = per_tool(results)
    assert table["web_search"]["spurious_calls"] == 1 and table["web_search"]["steps"] == 0
    assert table["(no call)"]["steps"] == 2 and table["calculator"]["tool_name_em"] == 0.0
    assert llm.queue == []  # nothing asked twice or skipped


def test_teacher_forcing_gives_each_step_the_gold_prefix(items, tmp_path):
    multi = by_id(items, "multi-en-1")
    llm = gold_llm("json", multi)
    EvalRunner(llm, EvalSettings(format="json", free_run=False), batch_size=1).run(multi, tmp_path / "r.jsonl")
    prefixes = [r.messages for r in llm.requests]
    assert [len(p) for p in prefixes] == [1, 3, 5]
    assert prefixes[2] == multi[0].messages[:5]  # gold calls and gold observations, not the model's


def test_free_run_executes_real_tools(items, tmp_path):
    calc = by_id(items, "calc-zh-1")
    llm = gold_llm("json", calc)
    results = EvalRunner(llm, EvalSettings(format="json"), batch_size=1).run(calc, tmp_path / "r.jsonl")
    observation = llm.requests[-1].messages[-1]
    assert observation.role == "tool" and observation.content == '{"result": 126}'  # the calculator really ran
    assert results[0]["free_run"]["final_answer"].startswith("(15 + 27) * 3 = 126")


def test_items_without_implementations_skip_end_to_end(tmp_path):
    spec = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}
    sample = Sample([Message("user", "Weather in Paris?"), Message("assistant", None, [ToolCall("get_weather", {"city": "Paris"})])], [spec])
    item = make_item("w", sample, {"reference_answer": "sunny"}, "test")
    llm = ScriptedLLM(['<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'])
    result = EvalRunner(llm, EvalSettings(format="json"), batch_size=1).run([item], tmp_path / "r.jsonl")[0]
    assert result["steps"][0]["args_match"] and result["e2e"] is None
    assert result["free_run"]["status"] == "skipped" and "get_weather" in result["free_run"]["error"]


def test_judge_mode_uses_the_judge_backend(items, tmp_path):
    calc = by_id(items, "calc-en-1")[0]
    calc.answer_match = "judge"
    with pytest.raises(TooltuneError, match="judge-model"):
        EvalRunner(ScriptedLLM([]), EvalSettings(format="json"), batch_size=1).run([calc], tmp_path / "x.jsonl")
    judge_llm = ScriptedLLM(["NO"])
    runner = EvalRunner(gold_llm("json", [calc]), EvalSettings(format="json"), batch_size=1, judge=AnswerJudge(judge_llm))
    result = runner.run([calc], tmp_path / "r.jsonl")[0]
    assert result["e2e"] == {"success": False, "mode": "judge", "reference": ["1093"]}
    assert "Reference answer: 1093" in judge_llm.requests[0].messages[0].content
    calc.answer_match = "contains"


def test_crash_mid_eval_resumes_where_it_stopped(items, tmp_path):
    subset = items[:4]
    script = gold_script("json", subset)
    path = tmp_path / "r.jsonl"
    first_two = len(gold_script("json", subset[:2]))
    crashing = ScriptedLLM(script[: first_two + 1])  # runs dry inside item 3: the "crash"
    with pytest.raises(RuntimeError, match="no canned response"):
        EvalRunner(crashing, EvalSettings(format="json"), batch_size=1).run(subset, path)
    assert list(load_results(path)) == [subset[0].id, subset[1].id]
    with path.open("a") as fh:
        fh.write('{"item_id": "torn')  # a write cut short by the crash
    rest = ScriptedLLM(script[first_two:])
    results = EvalRunner(rest, EvalSettings(format="json"), batch_size=1).run(subset, path)
    assert rest.queue == [] and [r["item_id"] for r in results] == [i.id for i in subset]
    assert len(path.read_text().splitlines()) == 4
    fresh = EvalRunner(gold_llm("json", subset), EvalSettings(format="json"), batch_size=1).run(subset, tmp_path / "fresh.jsonl")
    assert [json.dumps(r, sort_keys=True) for r in results] == [json.dumps(r, sort_keys=True) for r in fresh]


def test_bad_items_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}], "tools": []}) + "\n")
    with pytest.raises(TooltuneError, match="at least one assistant turn"):
        load_items(bad)
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}], "answer_match": "fuzzy"}) + "\n")
    with pytest.raises(TooltuneError, match="answer_match"):
        load_items(bad)
    bad.write_text('{"messages": [}\n')
    with pytest.raises(TooltuneError, match="bad.jsonl:1"):
        load_items(bad)
    with pytest.raises(TooltuneError, match="no such file"):
        load_items(tmp_path / "missing.jsonl")


def test_a_right_call_beside_a_cut_off_one_is_not_a_right_step(items, tmp_path):
    """The completion has the gold call, then a second call cut off by the token budget: the step
    is not a name or argument match (the cut-off call counts against it)."""
    [item] = by_id(items, next(i.id for i in items if [len(g) for g in i.reference_call_groups()] == [1]))
    gold = item.reference_call_groups()[0][0]
    block = json.dumps({"name": gold.name, "arguments": gold.arguments})
    cut = f'<tool_call>\n{block}\n</tool_call>\n<tool_call>\n{{"name": "{gold.name}", "arguments": {{"x": "ab'
    runner = EvalRunner(ScriptedLLM([cut, "Done."]), EvalSettings(format="json", free_run=False), batch_size=1)
    [result] = runner.run([item], tmp_path / "r.jsonl")
    step = result["steps"][0]
    assert len(step["parsed"]["truncated"]) == 1 and step["truncated"] == 1
    assert step["name_match"] is False and step["args_match"] is False
