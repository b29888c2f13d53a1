"""The OpenAI-compatible backend against a stand-in server on 127.0.0.1 (a test double of a
server like vLLM/ollama, speaking the real wire protocol: SSE chat-completion chunks)."""

import json
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tooltune.agent import Agent
from tooltune.errors import BackendError
from tooltune.llm.openai_backend import OpenAILLM
from tooltune.messages import Message
from tooltune.tools import builtin_registry


def send_chunks(handler, deltas, finish="stop", delay=0.0):
    """Write SSE chat-completion chunks, then (unless `finish` is None) the finishing chunk and [DONE]."""
    for delta in deltas:
        chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "stand-in",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
        handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        handler.wfile.flush()
        time.sleep(delay)
    if finish is None:
        return
    last = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "stand-in",
            "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
    handler.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())


def break_stream(handler, fault, deltas):
    """The failures a real server shows: a stream cut off without a finish_reason, a connection
    reset (TCP RST) mid-stream, a 5xx with the server's message."""
    if fault == "503":
        return handler._json(503, {"error": {"message": "the server is busy: one request at a time"}})
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()
    send_chunks(handler, deltas[:1], finish=None)
    handler.close_connection = True  # "truncate": the body just ends
    if fault == "reset":  # linger 0 + close = RST instead of FIN
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.rfile.close()
        handler.wfile.close()
        handler.connection.close()


class QuietServer(ThreadingHTTPServer):
    """Keeps the handler errors a broken stream causes on purpose (writing to a connection the
    "reset" fault closed) instead of printing them from its thread into the test run's output."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.errors: list[BaseException | None] = []

    def handle_error(self, request, client_address):
        self.errors.append(sys.exc_info()[1])


class StandInServer:
    """Replies with queued chunks; records request bodies; can refuse the `tool` role like ollama did.
    `faults` (popped one per request: "truncate" | "reset" | "503" | None) break streams;
    `break_if(body)` picks a fault per request; `one_at_a_time` breaks every stream that arrives while another is being served (llama.cpp-like)."""

    def __init__(self, refuse_tool_role=False, echo=False, one_at_a_time=False, delay=0.0, break_if=None):
        self.bodies, self.replies, self.refuse_tool_role, self.echo = [], [], refuse_tool_role, echo
        self.faults, self.one_at_a_time, self.delay, self.active, self.broken = [], one_at_a_time, delay, 0, 0
        self.lock = threading.Lock()
        self.break_if = break_if  # body -> fault or None: break chosen requests every time
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self._json(200, {"object": "list", "data": [{"id": "stand-in", "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.bodies.append(body)
                    outer.active += 1
                    fault = outer.faults.pop(0) if outer.faults else None
                    if fault is None and outer.break_if:
                        fault = outer.break_if(body)
                    if fault is None and outer.one_at_a_time and outer.active > 1:
                        fault = "truncate"
                    outer.broken += fault is not None
                try:
                    self._answer(body, fault)
                finally:
                    with outer.lock:
                        outer.active -= 1

            def _answer(self, body, fault):
                if outer.refuse_tool_role and any(m["role"] == "tool" for m in body["messages"]):
                    return self._json(400, {"error": {"message": "invalid role: tool"}})
                reply = text_reply("echo: " + body["messages"][-1]["content"]) if outer.echo or fault else outer.replies.pop(0)
                if fault:
                    return break_stream(self, fault, reply)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                send_chunks(self, reply, "tool_calls" if any("tool_calls" in d for d in reply) else "stop", outer.delay)

            def _json(self, code, obj):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def server():
    s = StandInServer()
    yield s
    s.close()


def text_reply(text):
    return [{"role": "assistant", "content": ""}] + [{"content": w} for w in text.split("|")]


def test_react_agent_over_a_server_folds_the_open_turn(server):
    server.replies += [text_reply('Thought: compute|\nAction: calculator|\nAction Input: {"expression": "6*7"}|\nObservation:'),
                       text_reply("Thought: done\nFinal|Answer: 42")]
    agent = Agent(OpenAILLM(server.url), builtin_registry().select(["calculator"]), "react")
    traj = agent.run("6*7?")
    assert traj.final_answer == "42" and traj.messages[2].content == '{"result": 42}'
    first, second = server.bodies
    assert first["model"] == "stand-in" and "Observation:" in first["stop"]
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["system", "user", "assistant", "user"]  # observation folded into a user turn
    assert second["messages"][-1]["content"] == '{"result": 42}'


def test_prefill_mode_asks_to_continue_the_assistant_turn(server):
    server.replies += [text_reply('Action: calculator\nAction Input: {"expression": "1"}'), text_reply("Final Answer: 1")]
    agent = Agent(OpenAILLM(server.url, model="m", continue_mode="prefill"), builtin_registry(), "react")
    agent.run("q")
    body = server.bodies[1]
    assert body["messages"][-1]["role"] == "assistant" and body["messages"][-1]["content"].endswith('Observation: {"result": 1}\n')
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False


def test_native_tool_calls_stream_and_tool_role_refusal_degrades():
    server = StandInServer(refuse_tool_role=True)
    try:
        call_deltas = [{"role": "assistant", "tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "calculator", "arguments": ""}}]},
                       {"tool_calls": [{"index": 0, "function": {"arguments": '{"expression": '}}]},
                       {"tool_calls": [{"index": 0, "function": {"arguments": '"2+2"}'}}]}]
        server.replies += [call_deltas, text_reply("It is 4.")]
        llm = OpenAILLM(server.url, model="m")
        agent = Agent(llm, builtin_registry(), "native")
        traj = agent.run("2+2?")
        assert traj.messages[1].tool_calls[0].arguments == {"expression": "2+2"}
        assert traj.final_answer == "It is 4." and llm.refuses_tool_role
        assert "tools" in server.bodies[0]
        retried = server.bodies[-1]["messages"]
        assert all(m["role"] != "tool" for m in retried)
        assert '<tool_response>\n{"result": 4}\n</tool_response>' in retried[-1]["content"]
    finally:
        server.close()


def test_role_map_renames_roles(server):
    server.replies += [text_reply("ok")]
    llm = OpenAILLM(server.url, model="m", role_map={"system": "user"})
    Agent(llm, builtin_registry(), "json").run("q")
    assert [m["role"] for m in server.bodies[0]["messages"]] == ["user", "user"]


def test_unreachable_server_is_a_one_line_error():
    llm = OpenAILLM("http://127.0.0.1:9/v1", model="m", timeout=2, retries=1, backoff=0)
    with pytest.raises(BackendError, match="failed 2 times, last: the connection failed"):
        llm.complete(Agent(llm, builtin_registry(), "json").request([Message("user", "q")]))


def test_complete_batch_sends_concurrently_and_keeps_request_order():
    server = StandInServer(echo=True)
    try:
        llm = OpenAILLM(server.url, model="m", concurrency=3)
        agent = Agent(llm, builtin_registry(), "json")
        questions = [f"question {i}" for i in range(5)]
        completions = llm.complete_batch([agent.request([Message("user", q)]) for q in questions])
        assert [c.text for c in completions] == [f"echo: {q}" for q in questions]
        assert len(server.bodies) == 5
    finally:
        server.close()


def _ask(llm, question="q"):
    return llm.complete(Agent(llm, builtin_registry(), "json").request([Message("user", question)]))


@pytest.mark.parametrize("fault", ["truncate", "reset", "503"])
def test_a_broken_stream_is_retried_not_taken_as_an_answer(server, fault):
    server.faults += [fault, fault]
    server.replies += [text_reply("The answer |is 42.")]
    shown = []
    llm = OpenAILLM(server.url, model="m", retries=2, backoff=0)
    completion = llm.complete(Agent(llm, builtin_registry(), "json").request([Message("user", "q")]), shown.append)
    assert (completion.text, completion.finish_reason) == ("The answer is 42.", "stop")
    assert len(server.bodies) == 3 and server.broken == 2
    assert "".join(shown) == "The answer is 42."  # a retried stream does not show its text twice


@pytest.mark.parametrize("fault, message", [
    ("truncate", "the stream ended without a finish_reason after 0 characters"),
    ("reset", "the connection"),
    ("503", "HTTP 503: the server is busy: one request at a time"),
])
def test_a_server_that_keeps_failing_fails_the_request_with_its_message(server, fault, message):
    server.faults += [fault] * 3
    llm = OpenAILLM(server.url, model="m", retries=2, backoff=0)
    with pytest.raises(BackendError) as info:
        _ask(llm)
    assert str(info.value).startswith(f"{server.url} failed 3 times, last: {message}")
    assert len(server.bodies) == 3


def test_a_client_error_is_not_retried(server):
    server.refuse_tool_role = True  # 400 on a `tool` message: folded once, then a one-line error
    llm = OpenAILLM(server.url, model="m", retries=3, backoff=0)
    llm.refuses_tool_role = True
    request = Agent(llm, builtin_registry(), "native").request([Message("user", "q")])
    server.replies += [text_reply("fine")]
    assert llm.complete(request).text == "fine" and len(server.bodies) == 1


def test_concurrency_adapts_to_a_server_that_serves_one_request_at_a_time():
    server = StandInServer(echo=True, one_at_a_time=True, delay=0.02)
    try:
        llm = OpenAILLM(server.url, model="m", concurrency=4, retries=3, backoff=0.01)
        agent = Agent(llm, builtin_registry(), "json")
        questions = [f"question {i}" for i in range(8)]
        completions = llm.complete_batch([agent.request([Message("user", q)]) for q in questions])
        assert [c.text for c in completions] == [f"echo: {q}" for q in questions]
        assert server.broken > 0 and len(server.bodies) == 8 + server.broken
        assert llm.limit.limit == 1
    finally:
        server.close()


def test_complete_each_returns_each_failure_in_place(server):
    server.echo = True
    server.faults += [None, "503", "503", None]  # the 2nd request fails twice (retries=1), the others pass
    llm = OpenAILLM(server.url, model="m", concurrency=1, retries=1, backoff=0)
    agent = Agent(llm, builtin_registry(), "json")
    out = llm.complete_each([agent.request([Message("user", q)]) for q in ("a", "b", "c")])
    assert out[0].text == "echo: a" and isinstance(out[1], BackendError) and out[2].text == "echo: c"
    with pytest.raises(BackendError, match="HTTP 503"):
        server.faults += ["503", "503"]
        llm.complete_batch([agent.request([Message("user", "d")])])
