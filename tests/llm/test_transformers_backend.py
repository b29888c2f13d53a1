"""The local transformers backend, on a tiny random model (real generate, real chat template)."""

from tooltune.agent import Agent
from tooltune.llm.base import cut_at_stop
from tooltune.llm.transformers_backend import TransformersLLM
from tooltune.messages import Message
from tooltune.tools import builtin_registry


def make(tiny_model, smol_tokenizer):
    return TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer)


def test_streamed_text_equals_the_completion(tiny_model, smol_tokenizer):
    llm = make(tiny_model, smol_tokenizer)
    agent = Agent(llm, builtin_registry(), "react", max_tokens=12)
    chunks = []
    completion = llm.complete(agent.request([Message("user", "hi")]), on_text=chunks.append)
    assert "".join(chunks) == completion.text
    assert completion.completion_tokens <= 12 and completion.prompt_tokens > 100
    assert completion.finish_reason in ("stop", "length")


def test_batched_generation_matches_one_by_one(tiny_model, smol_tokenizer):
    llm = make(tiny_model, smol_tokenizer)
    agent = Agent(llm, builtin_registry(), "json", max_tokens=8)
    requests = [agent.request([Message("user", q)]) for q in ("What time is it?", "Compute 2+2 please, thanks a lot")]
    batched = llm.complete_batch(requests)
    single = [llm.complete(r) for r in requests]
    assert [c.text for c in batched] == [c.text for c in single]


def test_prompt_uses_the_models_chat_template(tiny_model, smol_tokenizer):
    llm = make(tiny_model, smol_tokenizer)
    prompt = llm.prompt_text(Agent(llm, builtin_registry(), "react").request([Message("user", "hi")]))
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")


def test_cut_at_stop_takes_the_earliest():
    assert cut_at_stop("a Observation: b Observation： c", ["Observation：", "Observation:"]) == ("a ", True)
    assert cut_at_stop("abc", ["zz"]) == ("abc", False)


def test_device_auto_takes_a_gpu_only_when_torch_sees_one_and_int8_stays_on_the_cpu(monkeypatch):
    import pytest
    import torch

    from tooltune.errors import TooltuneError
    from tooltune.llm.transformers_backend import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"
    with pytest.raises(TooltuneError, match="--device cuda: torch sees no GPU here; use --device cpu"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda") == "cuda"
    assert resolve_device("auto", "int8") == "cpu"
    with pytest.raises(TooltuneError, match="--weights int8 is a CPU kernel: use it with --device cpu"):
        resolve_device("cuda", "int8")
    with pytest.raises(TooltuneError, match="--device 'tpu': use one of cpu, cuda, auto"):
        resolve_device("tpu")
