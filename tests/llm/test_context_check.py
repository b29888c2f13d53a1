"""The context check at the local backend: a prompt the model cannot hold is one
ContextLengthError before any forward pass (the agent, the eval and rollouts all go through
it), and a completion is cut where the context ends. Tiny random llama with a 512-token context;
every forward pass is counted."""

import pytest

from tooltune.agent import Agent
from tooltune.errors import BackendError
from tooltune.llm.context import ContextLengthError, fit_context, longest_token_bytes, prompt_token_ids
from tooltune.llm.transformers_backend import TransformersLLM
from tooltune.messages import Message
from tooltune.tools import builtin_registry

CONTEXT = 512


@pytest.fixture(scope="module")
def small(smol_tokenizer, tiny_llama):
    model = tiny_llama(CONTEXT)
    calls = []
    model.register_forward_pre_hook(lambda module, args: calls.append(1))
    return TransformersLLM(model_obj=model, tokenizer=smol_tokenizer, prefix_cache=False), calls


def test_agent_run_past_the_context_is_one_error_before_any_prefill(small):
    llm, calls = small
    calls.clear()
    agent = Agent(llm, builtin_registry(), "json", max_tokens=8)
    prompt = len(llm.tokenizer(llm.prompt_text(agent.request([Message("user", "word " * 100)])), add_special_tokens=False)["input_ids"])
    with pytest.raises(ContextLengthError) as caught:
        agent.run("word " * 100)
    assert str(caught.value) == (f"prompt of {prompt} tokens exceeds the model's context of {CONTEXT}: shorten the conversation, "
                                 "tool results or tool list (the agent can fit it: --context-window)")
    assert isinstance(caught.value, BackendError) and "\n" not in str(caught.value)
    assert calls == []


def test_eval_path_leaves_only_the_long_item_unscored(small):
    llm, calls = small
    agent = Agent(llm, builtin_registry(), "json", max_tokens=4)
    out = llm.complete_each([agent.request([Message("user", q)]) for q in ("hi", "word " * 600)])
    assert out[0].completion_tokens == 4 and isinstance(out[1], ContextLengthError)


def test_huge_prompt_is_refused_from_its_length_alone(smol_tokenizer):
    class Counting:
        def __init__(self, tok):
            self.tok, self.seen = tok, []

        def get_vocab(self):
            return self.tok.get_vocab()

        def __call__(self, text, **kw):
            self.seen.append(len(text))
            return self.tok(text, **kw)

    tok = Counting(smol_tokenizer)
    with pytest.raises(ContextLengthError, match=r"^prompt of at least 12345 tokens exceeds the model's context of 8192"):
        prompt_token_ids(tok, "a" * (12345 * 162), 8192)
    assert longest_token_bytes(tok) == 162 and tok.seen == []  # not tokenised at all
    with pytest.raises(ContextLengthError, match="prompt of at least"):
        prompt_token_ids(tok, "lorem ipsum " * 10_000, 8192)  # 120k chars: only a 64k-char head is tokenised
    assert tok.seen == [8 * 8192]
    assert prompt_token_ids(tok, "hello world", 8192) == smol_tokenizer("hello world", add_special_tokens=False)["input_ids"]


def test_completion_is_cut_where_the_context_ends(small):
    llm, calls = small
    request = Agent(llm, builtin_registry(), "json", max_tokens=1000).request([Message("user", "hi")])
    prompt = len(llm.prompt_ids(request))
    assert fit_context(request, prompt, CONTEXT).max_tokens == CONTEXT - prompt
    assert fit_context(request, prompt, None) is request
    completion = llm.complete(request)
    assert completion.completion_tokens == CONTEXT - prompt and completion.finish_reason == "length"
