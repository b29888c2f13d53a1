"""The server around real transformers models: a tiny random llama (fast) and, marked slow, the
embedded SmolLM2 loaded the way `tooltune serve` loads it."""

import json

import httpx
import openai
import pytest

from tooltune.llm.transformers_backend import TransformersLLM

CALC = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}


def test_tiny_model_streams_the_same_text_it_returns(serve, tiny_model, smol_tokenizer):
    llm = TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer)
    with serve(llm) as (url, _):
        c = openai.OpenAI(base_url=url, api_key="x", max_retries=0)
        ask = {"model": "tooltune", "messages": [{"role": "user", "content": "Say something."}], "max_tokens": 12}
        whole = c.chat.completions.create(**ask)
        pieces = [ch.choices[0].delta.content or "" for ch in c.chat.completions.create(**ask, stream=True)]
    assert whole.usage.completion_tokens == 12 and whole.choices[0].finish_reason == "length"
    assert len([p for p in pieces if p]) > 1 and "".join(pieces).strip() == whole.choices[0].message.content


@pytest.mark.slow
def test_embedded_model_behind_the_server(serve):
    from tooltune.serve.model import load_llm

    llm = load_llm("embedded", None)
    with serve(llm, model_name="embedded") as (url, _):
        c = openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=300)
        ask = {"model": "embedded", "messages": [{"role": "user", "content": "What is 12*7? Use the calculator."}],
               "tools": [CALC], "max_tokens": 24}
        forced = {"type": "function", "function": {"name": "calculator"}}
        r = c.chat.completions.create(**ask, tool_choice=forced)
        (call,) = r.choices[0].message.tool_calls
        assert call.function.name == "calculator" and r.choices[0].finish_reason == "tool_calls"
        chunks = list(c.chat.completions.create(**ask, tool_choice=forced, stream=True))  # greedy: the same call, streamed
        deltas = [d for ch in chunks if ch.choices for d in ch.choices[0].delta.tool_calls or []]
        assert {d.function.name for d in deltas if d.function.name} == {"calculator"}
        assert json.loads("".join(d.function.arguments or "" for d in deltas)) == json.loads(call.function.arguments)
        assert [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason] == ["tool_calls"]
        assert httpx.get(url.removesuffix("/v1") + "/health").json()["model"] == "embedded"
