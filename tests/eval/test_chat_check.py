"""The general-chat check counts answers, refusals and tool calls exactly, offers the same tools
to a question every run, and asks in the question's own language."""

from __future__ import annotations

from tooltune.eval.chat_check import chat_check, offered_tools, verdict
from tooltune.llm.scripted import ScriptedLLM

POOL = [{"type": "function", "function": {"name": f"tool_{i}", "description": f"Tool number {i}.",
                                          "parameters": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}}}
        for i in range(6)]
ITEMS = [{"lang": "en", "q": "Who painted the Mona Lisa?"}, {"lang": "en", "q": "Why is the sea salty?"},
         {"lang": "zh", "q": "为什么海水是咸的？"}, {"lang": "en", "q": "Tell me a joke."}]


def test_verdicts_are_counted_exactly():
    name = offered_tools(ITEMS[3]["q"], POOL)[0]["function"]["name"]
    llm = ScriptedLLM(["Leonardo da Vinci painted it.", "I don't have a tool for that request.", "抱歉，现有的工具无法完成这个请求。",
                       '<tool_call>{"name": "%s", "arguments": {"x": "joke"}}</tool_call>' % name])
    res = chat_check(llm, ITEMS, POOL, "json", batch_size=2)
    assert (res["items"], res["answered"], res["refused"], res["called"], res["invalid"]) == (4, 1, 2, 1, 0)
    assert [r["verdict"] for r in res["rows"]] == ["answered", "refused", "refused", "called"]
    assert res["rows"][0]["text"] == "Leonardo da Vinci painted it."
    assert res["rows"][3]["calls"] == [name]
    zh_prompt = llm.requests[2].rendered
    assert "为什么海水是咸的" in str(zh_prompt)


def test_offered_tools_are_fixed_per_question():
    a = [t["function"]["name"] for t in offered_tools("Why is the sea salty?", POOL)]
    assert a == [t["function"]["name"] for t in offered_tools("Why is the sea salty?", POOL)]
    assert len(a) == 3 and len(set(a)) == 3


def test_verdict_rules():
    assert verdict("final", "Paris is the capital of France.") == "answered"
    assert verdict("final", "Sorry, I can't help with that: none of the available tools can do it.") == "refused"
    assert verdict("final", "很抱歉，我没有能处理这个请求的工具。") == "refused"
    assert verdict("tool_calls", "") == "called"
    assert verdict("invalid", "{") == "invalid"
