"""Server limits over real HTTP around a tiny random llama with a 512-token context: what one
careless or hostile request may cost (body size, tool and message counts, the context, the
deadline, a client that leaves), and that the next normal request is answered each time.

Every forward pass of the model is counted (a forward hook), so "no prefill happened" and
"generation stopped early" are exact assertions, not timings. `Slow` makes each forward pass
take a few milliseconds, so a generation is still running when the client leaves."""

import json
import threading
import time

import httpx
import pytest

from tooltune.formats import get_format
from tooltune.llm.context import longest_token_bytes
from tooltune.llm.transformers_backend import TransformersLLM
from tooltune.serve.limits import Limits
from tooltune.serve.protocol import parse_request, to_conversation
from tooltune.serve.replies import generation_request

CONTEXT = 512
CALC = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}


class Counted:
    """Counts forward passes and the tokens they were fed; optionally sleeps in each pass."""

    def __init__(self, model):
        self.calls, self.tokens, self.delay, self.prefill_delay, self.started = 0, 0, 0.0, 0.0, threading.Event()
        model.register_forward_pre_hook(self.hook, with_kwargs=True)

    def hook(self, module, args, kwargs):
        self.calls += 1
        self.tokens += kwargs["input_ids"].shape[1]
        if self.calls >= 3:
            self.started.set()
        if self.delay:
            time.sleep(self.prefill_delay if kwargs["input_ids"].shape[1] > 1 else self.delay)


@pytest.fixture(scope="module")
def small(smol_tokenizer, tiny_llama):
    """(TransformersLLM around a 2-layer random llama with a 512-token context, its counter)."""
    model = tiny_llama(CONTEXT)
    return TransformersLLM(model_obj=model, tokenizer=smol_tokenizer), Counted(model)


@pytest.fixture
def llm(small):
    llm, counted = small
    llm.prefix_cache.clear()
    counted.calls, counted.tokens, counted.delay, counted.prefill_delay = 0, 0, 0.0, 0.0
    counted.started.clear()
    return llm, counted


def body(content="Say something.", max_tokens=8, **extra):
    return {"model": "tooltune", "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens, **extra}


def assert_normal_request_answered(url, counted):
    before = counted.calls
    r = httpx.post(url + "/chat/completions", json=body(max_tokens=4), timeout=60)
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 4
    assert counted.calls == before + 4  # one prefill pass, then one per token


def gen_of(request_body):
    """The generation request the server makes of `request_body`."""
    return generation_request(get_format("json"), to_conversation(parse_request(json.dumps(request_body).encode()), 512))[0]


def prompt_tokens(llm, request_body):
    return len(llm.tokenizer(llm.prompt_text(gen_of(request_body)), add_special_tokens=False)["input_ids"])


def wait_for(predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_oversized_body_is_413_before_parsing(serve, llm):
    llm, counted = llm
    with serve(llm, limits=Limits(max_request_bytes=4096)) as (url, app):
        for size in (5000, 100_000):  # drained and refused; declared far too large and refused unread
            r = httpx.post(url + "/chat/completions", json=body("x" * size), timeout=60)
            assert r.status_code == 413
            assert r.json()["error"]["code"] == "request_too_large" and "at most 4096" in r.json()["error"]["message"]
        assert counted.calls == 0 and app.state.engine.batches_run == 0
        assert_normal_request_answered(url, counted)


def test_prompt_over_context_is_400_in_vllm_words_without_prefill(serve, llm):
    llm, counted = llm
    with serve(llm, limits=Limits(max_request_bytes=4 << 20)) as (url, app):
        over = body("word " * 600, max_tokens=16)
        n = prompt_tokens(llm, over)
        r = httpx.post(url + "/chat/completions", json=over, timeout=60)
        assert r.status_code == 400
        assert r.json()["error"] == {
            "message": f"This model's maximum context length is {CONTEXT} tokens. However, you requested {n + 16} tokens "
                       f"({n} in the messages, 16 in the completion). Please reduce the length of the messages or completion.",
            "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}
        # The prompt fits, but not with the completion budget asked for.
        fits = body("word " * 300, max_tokens=400)
        r = httpx.post(url + "/chat/completions", json=fits, timeout=60)
        assert r.status_code == 400 and f"({prompt_tokens(llm, fits)} in the messages, 400 in the completion)" in r.text
        # 2 MB: refused from its byte length (no token covers more than 162 bytes), before tokenising.
        huge_body = body("lorem ipsum " * 170_000, max_tokens=16)
        floor = len(llm.prompt_text(gen_of(huge_body)).encode()) // 162
        assert longest_token_bytes(llm.tokenizer) == 162
        huge = httpx.post(url + "/chat/completions", json=huge_body, timeout=60)
        assert huge.status_code == 400
        assert f"However, you requested at least {floor + 16} tokens (at least {floor} in the messages" in huge.text
        assert counted.calls == 0 and app.state.engine.batches_run == 0
        assert_normal_request_answered(url, counted)


def test_too_many_tools_or_messages_is_400(serve, llm):
    llm, counted = llm
    tools = [{"type": "function", "function": {"name": f"t{i}", "parameters": {"type": "object", "properties": {}}}}
             for i in range(3)]
    with serve(llm, limits=Limits(max_tools=2, max_messages=3)) as (url, _):
        r = httpx.post(url + "/chat/completions", json=body(tools=tools), timeout=60)
        assert r.status_code == 400 and r.json()["error"]["param"] == "tools" and r.json()["error"]["code"] == "too_many_tools"
        assert "3 given, this server takes at most 2" in r.json()["error"]["message"]
        many = body()
        many["messages"] = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}] * 2
        r = httpx.post(url + "/chat/completions", json=many, timeout=60)
        assert r.status_code == 400 and r.json()["error"]["code"] == "too_many_messages"
        assert counted.calls == 0
        assert_normal_request_answered(url, counted)


def test_streaming_client_that_leaves_stops_its_generation(serve, llm):
    llm, counted = llm
    counted.delay = counted.prefill_delay = 0.01  # 300 tokens would take at least 3 s
    with serve(llm) as (url, app):
        with httpx.stream("POST", url + "/chat/completions", json=body(max_tokens=300, stream=True), timeout=60) as r:
            assert r.status_code == 200
            for _ in r.iter_lines():
                if counted.started.is_set():
                    break  # leaving the block closes the connection
        wait_for(lambda: app.state.engine.cancelled == 1)
        assert counted.calls < 300
        counted.delay = 0.0
        assert_normal_request_answered(url, counted)


def test_client_that_gives_up_on_a_plain_request_stops_its_generation(serve, llm):
    llm, counted = llm
    counted.delay = counted.prefill_delay = 0.01
    with serve(llm) as (url, app):
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(url + "/chat/completions", json=body(max_tokens=300), timeout=httpx.Timeout(60, read=1.0))
        wait_for(lambda: app.state.engine.cancelled == 1)
        assert counted.calls < 300
        counted.delay = 0.0
        assert_normal_request_answered(url, counted)


def test_request_past_its_deadline_is_504_and_stops(serve, llm):
    llm, counted = llm
    counted.delay = counted.prefill_delay = 0.01
    with serve(llm, limits=Limits(request_timeout=0.5)) as (url, app):
        r = httpx.post(url + "/chat/completions", json=body(max_tokens=300), timeout=60)
        assert r.status_code == 504 and r.json()["error"]["code"] == "request_timeout"
        assert "request timeout of 0.5 s" in r.json()["error"]["message"]
        streamed = httpx.post(url + "/chat/completions", json=body(max_tokens=300, stream=True), timeout=60)
        events = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
        assert events[-1]["error"]["code"] == "request_timeout" and streamed.text.rstrip().endswith("data: [DONE]")
        wait_for(lambda: app.state.engine.cancelled == 2)
        assert counted.calls < 2 * 300
        counted.delay = 0.0
        assert_normal_request_answered(url, counted)


def test_long_prompt_is_prefilled_in_chunks_and_short_requests_run_between(serve, llm):
    llm, counted = llm
    long_body = body("count the words " * 70, max_tokens=100)
    n = prompt_tokens(llm, long_body)
    chunks = -(-(n - 1) // 8)  # all but the last prompt token, 8 at a time
    whole = TransformersLLM(model_obj=llm.model, tokenizer=llm.tokenizer, prefix_cache=False)
    reference = whole.complete(gen_of(long_body))  # the prompt prefilled in one pass
    assert reference.completion_tokens == 100 and n > 200
    counted.delay, counted.prefill_delay = 0.01, 0.05  # the long prefill takes 28 x 0.05 s, its completion 100 x 0.01 s
    with serve(llm, limits=Limits(long_prompt=64, prefill_chunk=8)) as (url, app):
        engine, results = app.state.engine, {}
        long_thread = threading.Thread(target=lambda: results.update(
            long=httpx.post(url + "/chat/completions", json=long_body, timeout=120)))
        long_thread.start()
        wait_for(lambda: engine.prefill_chunks >= 1)
        during_prefill = httpx.post(url + "/chat/completions", json=body(max_tokens=5), timeout=120)
        assert during_prefill.status_code == 200 and long_thread.is_alive() and engine.prefill_chunks < chunks
        wait_for(lambda: engine.prefill_chunks == chunks and engine.batches_run == 2)  # the long one is decoding
        during_decode = httpx.post(url + "/chat/completions", json=body("Another one.", max_tokens=5), timeout=120)
        assert during_decode.status_code == 200 and long_thread.is_alive() and engine.interleaved == 1
        long_thread.join(120)
    assert results["long"].json()["choices"][0]["message"]["content"] == reference.text.strip()
    assert engine.batches_run == 3
    assert llm.prefix_cache.hits >= n - 1  # the completion found the chunked prefill in the prefix cache


@pytest.mark.parametrize("flag,value", [("--request-timeout", "0"), ("--max-request-bytes", "0"), ("--max-tools", "0")])
def test_serve_refuses_a_bad_limit_in_one_line_before_loading(flag, value):
    from typer.testing import CliRunner

    from tooltune.cli import app

    from tooltune.errors import TooltuneError

    result = CliRunner().invoke(app, ["serve", "--model", "/nonexistent/model", flag, value])  # checked before loading
    assert isinstance(result.exception, TooltuneError) and flag in str(result.exception) and "\n" not in str(result.exception)


def test_a_batch_stops_once_every_one_of_its_clients_has_gone():
    from tooltune.llm import ScriptedLLM
    from tooltune.llm.base import Completion, GenerationRequest
    from tooltune.serve.engine import BatchEngine

    class Held(ScriptedLLM):
        """The first request holds the worker until released; a batch runs until its cancel flag is set."""

        def __init__(self):
            super().__init__([])
            self.entered, self.release, self.batch_flag, self.flag_states = threading.Event(), threading.Event(), None, []

        def complete(self, request, on_text=None):
            self.entered.set()
            self.release.wait(10)
            return Completion("first")

        def complete_batch(self, requests):
            self.batch_flag = requests[0].cancel
            assert all(r.cancel is self.batch_flag for r in requests)  # one flag: one generate call
            self.flag_states.append(self.batch_flag.is_set())
            wait_for(self.batch_flag.is_set, 10)
            return [Completion("stopped")] * len(requests)

    llm = Held()
    engine = BatchEngine(llm, max_batch=8)
    try:
        first = engine.submit(GenerationRequest(rendered=None, cancel=threading.Event()))
        assert llm.entered.wait(10)
        flags = [threading.Event(), threading.Event()]
        rows = [engine.submit(GenerationRequest(rendered=None, cancel=f)) for f in flags]
        llm.release.set()
        assert first.result(10).text == "first"
        wait_for(lambda: llm.batch_flag is not None)
        flags[0].set()
        time.sleep(0.05)
        assert not llm.batch_flag.is_set()  # one client is still there: its row keeps generating
        flags[1].set()
        assert [r.result(10).text for r in rows] == ["stopped", "stopped"]
        assert llm.flag_states == [False] and engine.cancelled == 2
    finally:
        engine.close()
