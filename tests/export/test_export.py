"""export-model: the Jinja template equals tooltune's training render; merged safetensors and
the GGUF load back (transformers, gguf_file=) with the same logits; CLI errors are one line."""

import copy
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.export.folder import export_model
from tooltune.export.templates import jinja_template

from .samples import SAMPLES, canonical


def training_text(tokenizer, messages, tools, generation_prompt, lang="en"):
    rendered = get_format("json", lang).render(canonical(messages), tools)
    return ChatRenderer(tokenizer)._apply(rendered.turns, None, generation_prompt)


def with_string_arguments(messages):
    out = copy.deepcopy(messages)
    for m in out:
        for c in m.get("tool_calls") or []:
            c["function"]["arguments"] = json.dumps(c["function"]["arguments"], ensure_ascii=False)
    return out


@pytest.mark.parametrize("name", list(SAMPLES))
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_jinja_template_renders_exactly_like_training(smol_tokenizer, name, lang):
    messages, tools = SAMPLES[name]
    template = jinja_template(lang)
    for generation_prompt in (False, True):
        expected = training_text(smol_tokenizer, messages, tools, generation_prompt, lang)
        for msgs in (messages, with_string_arguments(messages)):  # HF dict arguments and OpenAI string arguments
            got = smol_tokenizer.apply_chat_template(msgs, tools=tools or None, tokenize=False,
                                                     add_generation_prompt=generation_prompt, chat_template=template)
            assert got == expected


def test_thought_renders_from_reasoning_never_from_reasoning_content(smol_tokenizer):
    """llama.cpp renders a probe assistant message carrying `reasoning_content` (plus tool calls);
    if the marker shows up it treats the model as a reasoning model and every plain answer lands
    in `reasoning_content`. The thought is read from `reasoning` (vLLM's field) or `content`, and
    tooltune's renderer reads `reasoning` the same way, so training and template still agree."""
    template = jinja_template("en")
    assert "reasoning_content" not in template
    call = {"id": "c1", "type": "function", "function": {"name": "calculator", "arguments": {"expression": "1"}}}
    probe = [{"role": "user", "content": "U"},
             {"role": "assistant", "content": None, "reasoning_content": "REASON_PART", "tool_calls": [call]}]
    text = smol_tokenizer.apply_chat_template(probe, tools=[SAMPLES["single_call_loop"][1][0]], tokenize=False, chat_template=template)
    assert "REASON_PART" not in text
    messages = [probe[0], {"role": "assistant", "content": None, "reasoning": "I should compute.", "tool_calls": [call]}]
    got = smol_tokenizer.apply_chat_template(messages, tools=[SAMPLES["single_call_loop"][1][0]], tokenize=False, chat_template=template)
    assert got == training_text(smol_tokenizer, messages, [SAMPLES["single_call_loop"][1][0]], False)
    assert "<|im_start|>assistant\nI should compute.\n<tool_call>\n" in got


def logits(model, tokenizer, text):
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        return model(ids).logits[0].float().numpy()


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory, smol_tokenizer, tiny_model):
    """The tiny random llama exported with GGUF (metadata from the embedded GGUF) and a Modelfile."""
    from tooltune.llm.embedded import embedded_model_path

    out = tmp_path_factory.mktemp("export") / "tiny"
    export_model(copy.deepcopy(tiny_model), copy.deepcopy(smol_tokenizer), out, gguf="q8_0",
                 gguf_source=embedded_model_path(), ollama=True)
    return out


def test_export_writes_merged_model_tokenizer_template_and_extras(tiny_export, tiny_model, smol_tokenizer):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    files = {p.name for p in tiny_export.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "chat_template.jinja", "model-q8_0.gguf",
            "Modelfile", "tooltune_tool_parser.py", "tooltune_export.json"} <= files
    tok = AutoTokenizer.from_pretrained(tiny_export)
    messages, tools = SAMPLES["thought_parallel_multiturn"]
    assert tok.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True) == \
        training_text(smol_tokenizer, messages, tools, True)
    model = AutoModelForCausalLM.from_pretrained(tiny_export)
    text = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
    np.testing.assert_array_equal(logits(model, tok, text), logits(tiny_model, smol_tokenizer, text))
    assert not [p for p in tiny_export.parent.iterdir() if p.name.startswith(".")]  # temp folder renamed away
    umask = os.umask(0)
    os.umask(umask)
    modes = {p.name: p.stat().st_mode & 0o777 for p in [tiny_export, *tiny_export.iterdir()]}
    assert modes == {**{name: 0o666 & ~umask for name in files}, tiny_export.name: 0o777 & ~umask}  # as cp would


def tied_copy(model):
    """The same tiny llama with tied input/output embeddings, as SmolLM2 has (no output.weight in GGUF)."""
    from transformers import LlamaForCausalLM

    config = copy.deepcopy(model.config)
    config.tie_word_embeddings = True
    torch.manual_seed(1)
    return LlamaForCausalLM(config).eval()


@pytest.mark.parametrize("qtype,tolerance,tied", [("f16", 2e-3, False), ("q8_0", 3e-2, False), ("f16", 2e-3, True)])
def test_gguf_loads_back_with_the_merged_models_logits(tmp_path, smol_tokenizer, tiny_model, qtype, tolerance, tied):
    """Tolerance on logits: max |difference| / max |logit| over every position of a prompt, 0.2% for
    f16 (measured 0.05%) and 3% for Q8_0 (measured 1.7% on this tiny random model). Each weight
    must also come back within 1% of its largest entry — a Q/K layout slip fails that by far."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tooltune.llm.embedded import embedded_model_path

    tiny_model = tied_copy(tiny_model) if tied else tiny_model
    out = tmp_path / "m"
    export_model(copy.deepcopy(tiny_model), copy.deepcopy(smol_tokenizer), out, gguf=qtype, gguf_source=embedded_model_path())
    name = f"model-{qtype}.gguf"
    alone = tmp_path / "alone"  # the GGUF by itself, as llama.cpp/ollama get it (no tokenizer.json beside it)
    alone.mkdir()
    (alone / name).symlink_to(out / name)
    loaded = AutoModelForCausalLM.from_pretrained(alone, gguf_file=name, dtype=torch.float32).eval()
    gguf_tok = AutoTokenizer.from_pretrained(alone, gguf_file=name)
    assert gguf_tok.chat_template == jinja_template("en")
    text = "<|im_start|>user\nCompute 23*47 with the calculator, please.<|im_end|>\n<|im_start|>assistant\n"
    assert gguf_tok(text)["input_ids"] == smol_tokenizer(text)["input_ids"]
    want, got = logits(tiny_model, smol_tokenizer, text), logits(loaded, gguf_tok, text)
    assert np.abs(got - want).max() / np.abs(want).max() < tolerance
    assert (got.argmax(-1) == want.argmax(-1)).mean() > 0.9
    back = loaded.state_dict()
    for name, weight in tiny_model.state_dict().items():
        w = weight.numpy()
        assert np.abs(back[name].numpy() - w).max() <= np.abs(w).max() / 100, name


def test_export_refuses_non_chatml_and_existing_folder(tmp_path, smol_tokenizer, tiny_model):
    from tooltune.errors import TooltuneError

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(TooltuneError, match="not empty"):
        export_model(tiny_model, smol_tokenizer, tmp_path / "full")
    other = copy.deepcopy(smol_tokenizer)
    other.chat_template = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
    with pytest.raises(TooltuneError, match="not ChatML"):
        export_model(tiny_model, other, tmp_path / "new")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("args,message", [
    (["--gguf", "q4"], "--gguf q4: use one of f16, q8_0"),
    (["--adapter", "/nonexistent"], "no adapter_config.json"),
    (["--model", "/nonexistent/m"], "not found"),
])
def test_export_cli_errors_are_one_line(tmp_path, args, message):
    cmd = [sys.executable, "-m", "tooltune.cli", "export-model", "--out", str(tmp_path / "o"), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
