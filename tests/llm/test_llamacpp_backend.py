"""The optional llama.cpp backend on the embedded GGUF (runs where llama-cpp-python is installed)."""

import threading

import pytest

from tooltune.agent import Agent
from tooltune.llm.llamacpp_backend import available
from tooltune.messages import Message
from tooltune.tools import builtin_registry

pytestmark = pytest.mark.skipif(not available(), reason="llama-cpp-python is not installed: pip install 'tooltune[llamacpp]' (see docs/inference.md)")


@pytest.fixture(scope="module")
def llm():
    from tooltune.llm import make_llm

    return make_llm("embedded-base", backend="llamacpp")


def request(llm, question="What is 23 * 47? Use the calculator.", max_tokens=40):
    return Agent(llm, builtin_registry(), "react", max_tokens=max_tokens).request([Message("user", question)])


def test_streaming_stop_and_greedy_repeatability(llm):
    req = request(llm)
    chunks = []
    llm.llama.reset()
    first = llm.complete(req, on_text=chunks.append)
    assert "".join(chunks) == first.text
    assert not any(s in first.text for s in req.stop)
    assert first.prompt_tokens == len(llm.prompt_ids(req))
    llm.llama.reset()  # a cold start again: greedy decoding gives the same tokens
    again = llm.complete(req)
    assert (again.text, again.completion_tokens) == (first.text, first.completion_tokens)
    # With the prefix reused, llama.cpp evaluates the prompt's last token alone instead of inside a
    # 512-token batch; on the quantised weights that can flip a near-tie (seen here: "1128" vs
    # "1084"), so reuse is not pinned token-for-token for this backend (docs/inference.md).
    reused = llm.complete(req)
    assert reused.prompt_tokens == first.prompt_tokens and reused.completion_tokens > 0


def test_max_tokens_and_cancel(llm):
    req = request(llm, "Write a long story about Paris.", max_tokens=7)
    req.stop = []
    assert (llm.complete(req).completion_tokens, llm.complete(req).finish_reason) == (7, "length")
    req.max_tokens = 60
    req.cancel = threading.Event()
    pieces = []

    def on_text(text):
        pieces.append(text)
        req.cancel.set()

    cut = llm.complete(req, on_text=on_text)
    assert cut.completion_tokens <= 3 and cut.finish_reason == "stop"


def test_auto_picks_llamacpp_for_a_plain_gguf():
    from tooltune.llm import make_llm

    assert make_llm("embedded-base").name == "llamacpp"
