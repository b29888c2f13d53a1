"""generate -> judge -> rollout on a store, with the ScriptedLLM test double and with a stand-in
OpenAI-compatible server: parsing messy lists, dedupe, resumption without duplicates, verdicts,
real tool execution, batched and sequential rollouts, hard negatives."""

import pytest

from tooltune.data.generate import generate_questions, split_counts
from tooltune.data.judge import judge_questions, parse_verdict
from tooltune.data.rollout import RolloutConfig, pending_questions, rollout
from tooltune.data.store import Store
from tooltune.data.text import Deduper, split_questions
from tooltune.errors import TooltuneError
from tooltune.llm import ScriptedLLM, make_llm
from tooltune.tools import builtin_registry

from .standin import RespondingServer

REGISTRY = builtin_registry().select(["calculator", "current_time"])
TOOLS = REGISTRY.to_openai()


@pytest.mark.parametrize("text, expected", [
    ("Here are 3 questions:\n\n1. What is 2+2?\n2) **What time is it?**\n\n3、现在几点了？",
     ["What is 2+2?", "What time is it?", "现在几点了？"]),
    ("- \"Compute 7*8\"\n* Q2: How many seconds in a day?\n• （3）北京现在几点？", ["Compute 7*8", "How many seconds in a day?", "北京现在几点？"]),
    ("1. What is 3.5 times 2? 2. What is 12 squared?", ["What is 3.5 times 2?", "What is 12 squared?"]),
    ("一、今天天气真好\n二、1+1等于几？\n1.\n:", ["今天天气真好", "1+1等于几？"]),
])
def test_split_questions_reads_every_list_style(text, expected):
    assert split_questions(text) == expected


def test_deduper_refuses_exact_and_near_duplicates_per_language():
    d = Deduper([("what time is it", "en")])
    assert d.add("What time is it?!", "en") is None
    assert d.add("What time is it now", "en") is None  # near duplicate
    assert d.add("How far is the moon?", "en") == "how far is the moon"
    assert d.add("现在几点了？", "zh") and d.add("现在几点了", "zh") is None


@pytest.mark.parametrize("reply, verdict, reason", [
    ("**是**。需要计算器", "yes", "需要计算器"), ("否，这是闲聊", "no", "这是闲聊"), ("答：不需要，因为可以直接回答", "no", "可以直接回答"),
    ("Yes, because it needs arithmetic.", "yes", "it needs arithmetic."), ("**Answer:** no - small talk", "no", "small talk"),
    ("判断：是", "yes", ""), ("不是。", "no", ""), ("是的，需要搜索", "yes", "需要搜索"), ("`NO`", "no", ""),
    ("Nothing to add", "unclear", "Nothing to add"), ("", "unclear", ""),
])
def test_parse_verdict(reply, verdict, reason):
    got = parse_verdict(reply)
    assert (got.verdict, got.reason) == (verdict, reason)


def test_counts_follow_the_negative_share():
    assert split_counts(10, 0.2) == {"positive": 8, "negative": 2}
    with pytest.raises(TooltuneError):
        split_counts(10, 1.5)


def test_generate_dedupes_and_resumes_without_duplicates(tmp_path):
    store = Store(tmp_path / "c.db")
    llm = ScriptedLLM(["1. What is 12*13?\n2. what is 12 * 13\n3. What time is it in UTC?", "1) What is 12*13?",
                       "1. Hello there, nice day!"])
    report = generate_questions(store, llm, TOOLS, count=5, negatives=0.2, batch_size=1, patience=1)
    # The model ran dry after 2 of 4 positives (a round with nothing new ends that kind: patience=1).
    assert report.added == {"positive": 2, "negative": 1} and report.duplicates == 1
    # A re-run asks only for what is missing and refuses what is stored already.
    llm = ScriptedLLM(["1. What is 12*13?\n2. How many minutes until noon?\n3. What is 2 to the 10th power?\n4. What is 99/3?"])
    report = generate_questions(store, llm, TOOLS, count=5, negatives=0.2, batch_size=1, patience=1)
    assert report.added == {"positive": 2, "negative": 0} and report.held == {"positive": 4, "negative": 1}
    texts = [q.text for q in store.questions()]
    assert len(texts) == len(set(texts)) == 5 and "What is 99/3?" not in texts
    assert "calculator" in llm.requests[0].rendered.turns[-1].text and "2" in llm.requests[0].rendered.turns[-1].text
    assert "Vary the wording and the topics." in llm.requests[0].rendered.turns[-1].text  # the default $style (prompts/generate_style_en.txt)
    # Fully stocked: nothing asked at all.
    assert generate_questions(store, ScriptedLLM([]), TOOLS, count=5, negatives=0.2).rounds == 0


def test_judge_keeps_matching_verdicts_and_is_resumable(tmp_path):
    store = Store(tmp_path / "c.db")
    store.add_questions([{"text": "What is 3*7?", "norm": "a", "tools": TOOLS},
                         {"text": "Nice weather", "norm": "b", "kind": "negative", "tools": TOOLS, "lang": "zh"},
                         {"text": "Tell me a joke", "norm": "c", "tools": TOOLS}])
    llm = ScriptedLLM(["是，需要计算器", "**否**，闲聊", "hmm"])
    counts = judge_questions(store, llm, batch_size=2)
    assert counts["verdict yes"] == 1 and counts["verdict no"] == 1 and counts["verdict unclear"] == 1
    by_text = {q.text: q for q in store.questions()}
    assert by_text["What is 3*7?"].status == "approved" and by_text["What is 3*7?"].judge_reason == "需要计算器"
    assert by_text["Nice weather"].status == "approved" and by_text["Tell me a joke"].status == "draft"
    assert "一个智能体" in llm.requests[1].rendered.turns[-1].text  # zh question, zh judge prompt
    counts = judge_questions(store, ScriptedLLM(["No, a joke needs no tool"]))  # only the unclear one again
    assert counts["positive rejected"] == 1


def _approved(store, items):
    store.add_questions([{"text": t, "norm": t, "kind": k, "tools": TOOLS} for t, k in items])
    store.set_question_verdicts([(q.id, "yes", "", "approved") for q in store.questions()])


CALL = 'Thought: use it\nAction: calculator\nAction Input: {"expression": "3*7"}'


@pytest.mark.parametrize("batched", [True, False])
def test_rollout_runs_tools_for_real_and_stores_drafts(tmp_path, batched):
    store = Store(tmp_path / "c.db")
    _approved(store, [("What is 3*7?", "positive"), ("Say 3*7 badly", "positive"), ("Lovely day!", "negative")])
    replies = ["Yes it is lovely.", CALL, "garbage Thought:", "Thought: done\nFinal Answer: 21", "Thought: again", "Thought: still"]
    if not batched:  # sequential: question 1 runs to the end before question 2
        replies = ["Yes it is lovely.", CALL, "Thought: done\nFinal Answer: 21", "garbage Thought:", "Thought: again", "Thought: still"]
    counts = rollout(store, ScriptedLLM(replies), REGISTRY, RolloutConfig(batched=batched, batch_size=4))
    assert counts == {"final": 1, "format_error": 1, "negative final": 1}
    samples = {s.sample.messages[0].content: s for s in store.samples(source="rollout")}
    good = samples["What is 3*7?"]
    assert good.status == "draft" and good.expect_tool_call is True and good.error is None
    assert [m.role for m in good.sample.messages] == ["user", "assistant", "tool", "assistant"]
    assert good.sample.messages[2].content == '{"result": 21}' and good.sample.messages[-1].content == "21"  # the calculator ran
    bad = samples["Say 3*7 badly"]
    assert bad.status == "rejected" and "Thought" in bad.error and bad.meta["trajectory_status"] == "format_error"
    neg = samples["Lovely day!"]
    assert neg.expect_tool_call is False and neg.sample.messages[-1].content == "Yes it is lovely."
    assert not neg.sample.messages[-1].tool_calls and neg.sample.tools == TOOLS
    # Resumable: nothing left to do; --retry-failed redoes only the failed one.
    assert rollout(store, ScriptedLLM([]), REGISTRY) == {}
    # Asking what is pending (with retry) is a query: the failed sample and its history stay.
    assert [q.text for q in pending_questions(store, retry_failed=True)] == ["Say 3*7 badly"]
    assert store.get_sample(bad.id).revision == 1 and len(store.revisions(bad.id)) == 1
    assert rollout(store, ScriptedLLM(["Thought: ok\nFinal Answer: 21"]), REGISTRY, RolloutConfig(retry_failed=True)) == {"final": 1}
    assert len(list(store.samples())) == 3 and not any(s.error for s in store.samples())
    history = store.revisions(bad.id)  # the retry is the failed sample's next revision, the failure kept
    assert [(r.revision, r.author, r.status) for r in history] == [(1, "rollout", "rejected"), (2, "rollout", "draft")]
    assert history[0].sample == bad.sample and history[1].sample.messages[-1].content == "21"
    assert history[1].changes == ["messages", "status", "error", "meta"]


def test_rollout_needs_implementations_for_the_question_tools(tmp_path):
    store = Store(tmp_path / "c.db")
    store.add_questions([{"text": "q", "norm": "q", "tools": [{"type": "function", "function": {"name": "teleport"}}]}])
    store.set_question_verdicts([(1, "yes", "", "approved")])
    with pytest.raises(TooltuneError, match="teleport"):
        rollout(store, ScriptedLLM([]), REGISTRY)


def _server_reply(messages):
    prompt = messages[-1]["content"]
    if "question generator" in messages[0]["content"] and "NO tool" in prompt:
        return "1. What a lovely morning!\n2. I like numbers."
    if "question generator" in messages[0]["content"]:
        return "Sure! Here you go:\n1. What is 17*23?\n2. What time is it now?\n3. What is 17 * 23"
    if "Answer \"yes\" or \"no\" first" in prompt:
        return "**Yes.** It needs a tool." if "?" in prompt.split("Question:")[1].split("\n")[0] else "No, small talk."
    if messages[-1]["role"] == "user" and "17*23" in prompt:
        return 'Thought: multiply\nAction: calculator\nAction Input: {"expression": "17*23"}'
    if "Observation" in str(messages) or messages[-1]["role"] != "user":
        return "Thought: done\nFinal Answer: the tool said so"
    return "Thought: I know\nFinal Answer: it depends"


def test_whole_pipeline_against_an_openai_compatible_server(tmp_path):
    server = RespondingServer(_server_reply)
    try:
        llm = make_llm("stand-in", server.url, "key")
        store = Store(tmp_path / "c.db")
        report = generate_questions(store, llm, TOOLS, count=5, negatives=0.4, per_request=5, patience=1)
        assert report.held == {"positive": 2, "negative": 2}
        judge_questions(store, llm)
        kept = {q.text: q.status for q in store.questions()}
        assert kept == {"What is 17*23?": "approved", "What time is it now?": "approved",
                        "What a lovely morning!": "approved", "I like numbers.": "approved"}
        counts = rollout(store, llm, REGISTRY, RolloutConfig(batch_size=4))
        assert counts == {"final": 2, "negative final": 2}
        mult = next(s for s in store.samples() if s.sample.messages[0].content == "What is 17*23?")
        assert mult.sample.messages[2].content == '{"result": 391}'  # the real calculator ran between server calls
    finally:
        server.close()


def test_cli_from_an_empty_db_to_an_exported_jsonl(tmp_path):
    import json

    from typer.testing import CliRunner

    from tooltune.cli import app

    runner, db, out = CliRunner(), str(tmp_path / "corpus.db"), tmp_path / "train.jsonl"
    server = RespondingServer(_server_reply)
    server_opts = ["--base-url", server.url, "--model", "stand-in"]
    try:
        for args in (["generate", "--tools", "calculator,current_time", "--count", "5", "--negatives", "0.4", "--per-request", "5"],
                     ["judge"], ["rollout", "--tools", "calculator,current_time"]):
            result = runner.invoke(app, [*args, "--db", db, *server_opts])
            assert result.exit_code == 0, result.output
        assert "nothing to roll out" in runner.invoke(app, ["rollout", "--db", db, *server_opts]).output
        result = runner.invoke(app, ["export", "--db", db, "--status", "draft", "--out", str(out)])
        assert result.exit_code == 0 and "wrote 4 samples" in result.output
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert sum(1 for r in rows if any(m.get("tool_calls") for m in r["messages"])) == 1  # the stand-in calls a tool for 17*23 only
        bad = runner.invoke(app, ["generate", "--db", db, "--negatives", "2", *server_opts])
        assert bad.exit_code != 0 and "--negatives" in str(bad.exception)
    finally:
        server.close()
