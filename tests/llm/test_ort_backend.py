"""The onnxruntime-genai backend decodes the same greedy tokens as the transformers backend from
the same fp32 weights, reuses its KV cache across prompts, and honours cancel. Skipped where
onnxruntime-genai (the optional `ort` extra) is not installed."""

import json
import threading

import pytest

pytest.importorskip("onnxruntime_genai")

from tooltune.errors import TooltuneError  # noqa: E402
from tooltune.formats import get_format  # noqa: E402
from tooltune.llm.base import GenerationRequest  # noqa: E402
from tooltune.llm.ort_backend import OrtLLM  # noqa: E402
from tooltune.llm.transformers_backend import TransformersLLM  # noqa: E402
from tooltune.messages import Message  # noqa: E402

QUESTIONS = ["What is 23 * 47 + 12?", "Which city is the capital of France?", "What is 23 * 47 + 13?"]


def req(question, max_tokens=24, cancel=None):
    fmt = get_format("react", "en")
    messages = [Message("user", question)]
    return GenerationRequest(rendered=fmt.render(messages, []), messages=messages, tools=[], stop=[], max_tokens=max_tokens, cancel=cancel)


@pytest.fixture(scope="module")
def folder(tiny_model, smol_tokenizer, tmp_path_factory):
    """The tiny random Llama with a RoPE base other than the default 10000, which
    the ONNX conversion must carry over."""
    path = tmp_path_factory.mktemp("tiny-llama")
    tiny_model.save_pretrained(path)
    smol_tokenizer.save_pretrained(path)
    config = json.loads((path / "config.json").read_text())
    config["rope_parameters"]["rope_theta"] = 100.0
    (path / "config.json").write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def ort(folder, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TOOLTUNE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield OrtLLM(str(folder), threads=1)


def tokens(llm, request):
    out = llm.complete(request)
    return out.text, out.completion_tokens


def test_greedy_output_is_that_of_transformers(folder, ort):
    reference = TransformersLLM(str(folder), prefix_cache=False)
    for q in QUESTIONS:
        assert tokens(ort, req(q)) == tokens(reference, req(q))


def test_the_conversion_keeps_the_rope_base(ort):
    """The RoPE base sits in `rope_parameters` since transformers 5, and a builder reading it from
    elsewhere would fall back to 10000. Greedy tokens of a random tiny model hardly depend on
    positions, so the rotary table itself is checked: cos(position 1 x base^(-2/head_dim))."""
    import math

    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(ort.folder / "model.onnx")).graph
    cos = next(numpy_helper.to_array(t) for t in graph.initializer if t.name == "cos_cache")
    assert cos[1, 1] == pytest.approx(math.cos(100.0 ** (-2 / 16)), abs=1e-6)


def test_a_shared_prefix_is_not_prefilled_again(folder, ort):
    ort.complete(req(QUESTIONS[0]))
    generator = ort._generator
    ids = ort.prompt_ids(req(QUESTIONS[2]))
    shared = next(i for i, (a, b) in enumerate(zip(ort._tokens, ids)) if a != b)
    again = ort.complete(req(QUESTIONS[2]))
    assert ort._generator is generator and shared > 10
    fresh = TransformersLLM(str(folder), prefix_cache=False).complete(req(QUESTIONS[2]))
    assert (again.text, again.completion_tokens) == (fresh.text, fresh.completion_tokens)


def test_a_constrained_call_is_that_of_transformers(folder, ort):
    """The llguidance guide picks from the same logits on both backends: the same forced call."""
    from tooltune.formats.grammar import constraint_for
    from tooltune.tools import builtin_registry

    fmt, specs = get_format("react", "en"), builtin_registry().to_openai()
    messages = [Message("user", QUESTIONS[0])]

    def complete(llm, constrained):
        constraint = constraint_for(fmt, specs, "required") if constrained else None
        request = GenerationRequest(rendered=fmt.render(messages, specs), messages=messages, tools=specs, stop=[], max_tokens=32, constraint=constraint)
        return llm.complete(request).text

    forced = complete(ort, True)
    assert forced == complete(TransformersLLM(str(folder), prefix_cache=False), True)
    assert forced != complete(ort, False) and forced.startswith("Action:"), forced


def test_make_llm_gives_it_for_backend_ort(folder, ort):
    from tooltune.llm import make_llm

    assert make_llm(str(folder), backend="ort").folder == ort.folder
    with pytest.raises(TooltuneError, match="runs the fp32 weights"):
        make_llm(str(folder), backend="ort", weights="int8")


def test_cancel_stops_before_the_first_token(ort):
    cancel = threading.Event()
    cancel.set()
    out = ort.complete(req(QUESTIONS[1], cancel=cancel))
    assert (out.text, out.completion_tokens) == ("", 0)


def test_a_model_folder_with_an_adapter_is_refused(folder):
    with pytest.raises(TooltuneError, match="merge the adapter first"):
        OrtLLM(str(folder), adapter=str(folder))
