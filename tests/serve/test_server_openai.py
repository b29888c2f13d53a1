"""The server over real HTTP on 127.0.0.1, driven by the official `openai` client; the backend is
ScriptedLLM (canned completions, records what it was asked), so the assertions are exact."""

import json
import threading

import httpx
import openai
import pytest

from tooltune.formats import get_format
from tooltune.llm import ScriptedLLM
from tooltune.messages import Message, ToolCall

CALC = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}
CLOCK = {"type": "function", "function": {"name": "current_time", "description": "The time now.",
         "parameters": {"type": "object", "properties": {}}}}
CALL_TEXT = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "23*47"}}\n</tool_call>'


def client(url, key="none"):
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0, timeout=30)


def test_full_tool_loop_renders_history_like_training(serve):
    llm = ScriptedLLM(["I will compute it.\n" + CALL_TEXT, "23*47 is 1081."])
    with serve(llm) as (url, _):
        c = client(url)
        question = [{"role": "user", "content": "What is 23*47?"}]
        first = c.chat.completions.create(model="tooltune", messages=question, tools=[CALC, CLOCK])
        choice = first.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.content is None
        assert choice.message.reasoning_content == "I will compute it."
        (call,) = choice.message.tool_calls
        assert call.id.startswith("call_") and call.function.name == "calculator"
        assert json.loads(call.function.arguments) == {"expression": "23*47"}

        history = question + [choice.message.model_dump(exclude_none=True),
                              {"role": "tool", "tool_call_id": call.id, "content": "1081"}]
        second = c.chat.completions.create(model="tooltune", messages=history, tools=[CALC, CLOCK])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "23*47 is 1081."
    assert second.choices[0].message.tool_calls is None
    # The second prompt is exactly what tooltune's json format renders for that conversation.
    canonical = [Message("user", "What is 23*47?"),
                 Message("assistant", None, [ToolCall("calculator", {"expression": "23*47"}, call.id)],
                         reasoning_content="I will compute it."),
                 Message("tool", "1081", tool_call_id=call.id, name="calculator")]
    expected = get_format("json").render(canonical, [CALC, CLOCK])
    got = llm.requests[1].rendered
    assert [(t.role, t.text) for t in got.turns] == [(t.role, t.text) for t in expected.turns]
    assert got.turns[-1].text == "<tool_response>\n1081\n</tool_response>"
    assert got.turns[-2].text == "I will compute it.\n" + CALL_TEXT


def test_stream_with_tool_calls_sends_id_and_name_then_argument_fragments(serve):
    args = {"expression": "(1234 + 5678) * 91 / 7"}
    text = '<tool_call>\n{"name": "calculator", "arguments": ' + json.dumps(args) + "}\n</tool_call>"
    with serve(ScriptedLLM([text])) as (url, _):
        chunks = list(client(url).chat.completions.create(
            model="tooltune", messages=[{"role": "user", "content": "compute"}], tools=[CALC], stream=True))
    deltas = [ch.choices[0].delta for ch in chunks]
    calls = [d.tool_calls[0] for d in deltas if d.tool_calls]
    assert calls[0].id.startswith("call_") and calls[0].function.name == "calculator" and calls[0].function.arguments == ""
    fragments = [c.function.arguments for c in calls[1:]]
    assert len(fragments) > 1 and all(c.id is None and c.function.name is None for c in calls[1:])
    assert json.loads("".join(fragments)) == args
    assert [ch.choices[0].finish_reason for ch in chunks][-1] == "tool_calls"
    assert deltas[0].role == "assistant"


def test_stream_without_tools_streams_text_as_generated(serve):
    with serve(ScriptedLLM(["Paris is the capital of France."])) as (url, _):
        chunks = list(client(url).chat.completions.create(
            model="tooltune", messages=[{"role": "user", "content": "capital?"}], stream=True))
    pieces = [ch.choices[0].delta.content for ch in chunks if ch.choices[0].delta.content]
    assert len(pieces) == 6  # word by word, as ScriptedLLM streams
    assert "".join(pieces).strip() == "Paris is the capital of France."
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_tool_choice_none_hides_tools_and_parses_nothing(serve):
    llm = ScriptedLLM([CALL_TEXT])
    with serve(llm) as (url, _):
        r = client(url).chat.completions.create(model="tooltune", messages=[{"role": "user", "content": "hi"}],
                                                tools=[CALC], tool_choice="none")
    assert r.choices[0].message.tool_calls is None
    assert r.choices[0].message.content == CALL_TEXT
    assert "<tools>" not in llm.requests[0].rendered.turns[0].text


def test_tool_choice_auto_plain_answer(serve):
    llm = ScriptedLLM(["Hello there."])
    with serve(llm) as (url, _):
        r = client(url).chat.completions.create(model="tooltune", messages=[{"role": "user", "content": "hi"}],
                                                tools=[CALC], tool_choice="auto")
    assert r.choices[0].message.content == "Hello there." and r.choices[0].finish_reason == "stop"
    assert "<tools>" in llm.requests[0].rendered.turns[0].text and not llm.requests[0].rendered.open_last


def test_tool_choice_required_prefills_a_call(serve):
    llm = ScriptedLLM(['current_time", "arguments": {}}\n</tool_call>'])
    with serve(llm) as (url, _):
        r = client(url).chat.completions.create(model="tooltune", messages=[{"role": "user", "content": "hi"}],
                                                tools=[CALC, CLOCK], tool_choice="required")
    assert r.choices[0].finish_reason == "tool_calls"
    assert r.choices[0].message.tool_calls[0].function.name == "current_time"
    rendered = llm.requests[0].rendered
    assert rendered.open_last and rendered.turns[-1].role == "assistant"
    assert rendered.turns[-1].text == '<tool_call>\n{"name": "'


def test_tool_choice_named_function_prefills_its_name(serve):
    llm = ScriptedLLM(['{"expression": "2+2"}}\n</tool_call>'])
    with serve(llm) as (url, _):
        r = client(url).chat.completions.create(
            model="tooltune", messages=[{"role": "user", "content": "hi"}], tools=[CALC, CLOCK],
            tool_choice={"type": "function", "function": {"name": "calculator"}})
    (call,) = r.choices[0].message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("calculator", {"expression": "2+2"})
    assert llm.requests[0].rendered.turns[-1].text == '<tool_call>\n{"name": "calculator", "arguments": '


def test_tool_named_in_chinese_is_accepted_and_called(serve):
    """vLLM and ollama accept any tool name without control characters; so does tooltune serve."""
    weather = {"type": "function", "function": {"name": "查询天气", "parameters": {"type": "object", "properties": {"城市": {"type": "string"}}}}}
    llm = ScriptedLLM(['{"城市": "北京"}}\n</tool_call>'])  # the server prefills the named call
    with serve(llm) as (url, _):
        r = client(url).chat.completions.create(model="tooltune", messages=[{"role": "user", "content": "北京天气？"}],
                                                tools=[weather], tool_choice={"type": "function", "function": {"name": "查询天气"}})
    (call,) = r.choices[0].message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("查询天气", {"城市": "北京"})
    assert "查询天气" in llm.requests[0].rendered.turns[0].text
    assert llm.requests[0].rendered.turns[-1].text == '<tool_call>\n{"name": "查询天气", "arguments": '


def test_react_format_server(serve):
    llm = ScriptedLLM(['Thought: need math\nAction: calculator\nAction Input: {"expression": "2+2"}\n'])
    with serve(llm, fmt="react") as (url, _):
        r = client(url).chat.completions.create(model="tooltune", messages=[{"role": "user", "content": "2+2?"}], tools=[CALC])
    assert r.choices[0].message.tool_calls[0].function.name == "calculator"
    assert r.choices[0].message.reasoning_content == "need math"
    assert llm.requests[0].stop == ["Observation:", "Observation："]


BAD_REQUESTS = [
    ({"model": "tooltune"}, 422, "messages"),
    ({"model": "tooltune", "messages": []}, 422, "messages"),
    ({"model": "tooltune", "messages": "hi"}, 422, "messages"),
    ({"model": "tooltune", "messages": [{"role": "wizard", "content": "x"}]}, 422, "messages.0.role"),
    ({"model": "tooltune", "messages": [{"role": "user"}]}, 422, "messages.0.content"),
    ({"model": "tooltune", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}, 422, "tools.0.function"),
    ({"model": "tooltune", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "bad\nname"}}]}, 422, "tools.0.function.name"),
    ({"model": "tooltune", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": ""}}]}, 422, "tools.0.function.name"),
    ({"model": "tooltune", "messages": [{"role": "user", "content": "x"}], "tools": [CALC], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, 400, "tool_choice"),
    ({"model": "tooltune", "messages": [{"role": "user", "content": "x"}], "tool_choice": "required"}, 400, "tool_choice"),
    ({"model": "tooltune", "messages": [{"role": "user", "content": "x"}], "temperature": 7}, 422, "temperature"),
    ({"model": "tooltune", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, 422, "max_tokens"),
    ({"model": "tooltune", "messages": [{"role": "user", "content": "x"}], "n": 3}, 422, "n"),
    ({"model": "tooltune", "messages": [{"role": "user", "content": "x"}, {"role": "tool", "tool_call_id": "call_x", "content": "1"}]}, 400, "messages.1.tool_call_id"),
    ({"model": "tooltune", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "calculator", "arguments": "{oops"}}]}]}, 422, "messages.1.tool_calls.0.function.arguments"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}, 404, "model"),
]


@pytest.mark.parametrize("body,status,param", BAD_REQUESTS)
def test_bad_requests_get_openai_error_json_and_server_stays_up(serve, body, status, param):
    with serve(ScriptedLLM(["ok"])) as (url, _):
        r = httpx.post(url + "/chat/completions", json=body)
        assert r.status_code == status
        error = r.json()["error"]
        assert error["param"] == param and error["message"] and "Traceback" not in r.text
        assert httpx.get(url.removesuffix("/v1") + "/health").status_code == 200
        ok = httpx.post(url + "/chat/completions", json={"model": "tooltune", "messages": [{"role": "user", "content": "x"}]})
        assert ok.json()["choices"][0]["message"]["content"] == "ok"


def test_openai_client_raises_typed_errors(serve):
    with serve(ScriptedLLM([])) as (url, _):
        c = client(url)
        with pytest.raises(openai.UnprocessableEntityError, match="wizard"):
            c.chat.completions.create(model="tooltune", messages=[{"role": "wizard", "content": "x"}])
        with pytest.raises(openai.BadRequestError, match="offers calculator"):
            c.chat.completions.create(model="tooltune", messages=[{"role": "user", "content": "x"}], tools=[CALC],
                                      tool_choice={"type": "function", "function": {"name": "nope"}})
        with pytest.raises(openai.NotFoundError, match="gpt-4o"):
            c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])


def test_malformed_json_and_unknown_route(serve):
    with serve(ScriptedLLM([])) as (url, _):
        r = httpx.post(url + "/chat/completions", content=b'{"model": "tooltune", "messages": [', headers={"content-type": "application/json"})
        assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
        r = httpx.post(url + "/chat/completions", content=b"[1, 2]")
        assert r.status_code == 400 and "JSON object" in r.json()["error"]["message"]
        r = httpx.get(url + "/nothing-here")
        assert r.status_code == 404 and r.json()["error"]["message"] == "no route GET /v1/nothing-here"


def test_api_key(serve):
    with serve(ScriptedLLM(["fine"]), api_key="s3cret") as (url, _):
        with pytest.raises(openai.AuthenticationError, match="invalid or missing API key"):
            client(url, "wrong").chat.completions.create(model="tooltune", messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.AuthenticationError):
            client(url, "wrong").models.list()
        assert [m.id for m in client(url, "s3cret").models.list()] == ["tooltune"]
        r = client(url, "s3cret").chat.completions.create(model="tooltune", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "fine"


def test_backend_failure_is_json_500_and_server_survives(serve):
    with serve(ScriptedLLM([])) as (url, _):  # empty script: the backend raises
        r = httpx.post(url + "/chat/completions", json={"model": "tooltune", "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 500 and r.json()["error"]["type"] == "server_error" and "Traceback" not in r.text
        assert httpx.get(url.removesuffix("/v1") + "/health").json()["status"] == "ok"


class GatedLLM(ScriptedLLM):
    """Blocks in its first call until released, and records the size of every batch it gets."""

    def __init__(self, responses):
        super().__init__(responses)
        self.entered, self.release, self.batches = threading.Event(), threading.Event(), []

    def complete(self, request, on_text=None):
        self.batches.append(1)
        self.entered.set()
        self.release.wait(10)
        return super().complete(request, on_text)

    def complete_batch(self, requests):
        self.batches.append(len(requests))
        return [ScriptedLLM.complete(self, r) for r in requests]


def _post_in_thread(url, results, i):
    body = {"model": "tooltune", "messages": [{"role": "user", "content": f"q{i}"}]}
    results[i] = httpx.post(url + "/chat/completions", json=body, timeout=30)


def test_queue_batches_waiting_requests_and_refuses_when_full(serve):
    llm = GatedLLM([f"answer {i}" for i in range(4)])
    with serve(llm, max_queue=3, max_batch=8) as (url, app):
        results = {}
        threads = [threading.Thread(target=_post_in_thread, args=(url, results, 0))]
        threads[0].start()
        assert llm.entered.wait(10)  # the first request holds the model
        for i in (1, 2, 3):
            threads.append(threading.Thread(target=_post_in_thread, args=(url, results, i)))
            threads[-1].start()
        for _ in range(500):
            if app.state.engine.waiting == 3:
                break
            threading.Event().wait(0.01)
        full = httpx.post(url + "/chat/completions", json={"model": "tooltune", "messages": [{"role": "user", "content": "x"}]})
        assert full.status_code == 429 and full.json()["error"]["code"] == "queue_full"
        llm.release.set()
        for t in threads:
            t.join(30)
    assert llm.batches == [1, 3]
    assert sorted(r.json()["choices"][0]["message"]["content"] for r in results.values()) == [f"answer {i}" for i in range(4)]


def test_token_counts_travel_from_the_model_through_the_server_into_an_agent_step(serve):
    """The server reports usage on its last chunk; OpenAILLM reads it, and the agent's step carries it."""
    from tooltune.agent import Agent, TokenUsage
    from tooltune.llm import Completion
    from tooltune.llm.openai_backend import OpenAILLM
    from tooltune.tools import builtin_registry

    llm = ScriptedLLM([Completion(CALL_TEXT, prompt_tokens=42, completion_tokens=17)])
    with serve(llm) as (url, _):
        agent = Agent(OpenAILLM(url), builtin_registry().select(["calculator"]), "json")
        step = agent.step([Message("user", "What is 23*47?")])
    assert step.usage == TokenUsage(42, 17) and step.results[0].output == '{"result": 1081}'
