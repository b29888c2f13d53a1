"""Every copy of the json call layout writes what tooltune's parser reads back, and reads what
tooltune's renderer writes: the training renderer, the exported Jinja chat template, the ollama
Go template (when `go` is installed), the OpenAI backend's fold of tool messages, the decoding
grammar, the forced-call prefix and the exported vLLM plugin. All of them are built from
`tooltune.formats.json_layout`; a change there that one of them misses fails here."""

import json
import types

import pytest

from tooltune.export.templates import jinja_template, ollama_template
from tooltune.formats import get_format
from tooltune.formats.grammar import constraint_for
from tooltune.llm.openai_backend import fold_tool_messages
from tooltune.messages import Message, ToolCall

from .samples import CALC, CLOCK, WEATHER
from .test_ollama_and_vllm import GO, go_render

SPECS = [CALC, CLOCK, WEATHER]
CALLS = [("calculator", {"expression": "2*(3+4)"}), ("查询天气", {"城市": "北京"}), ("current_time", {"city": "Oslo"})]
FMT = get_format("json")


def conversation():
    calls = [ToolCall(name, args, id=f"call_{i}") for i, (name, args) in enumerate(CALLS)]
    return [Message("user", "q"), Message("assistant", "Let me check.", calls)] + [
        Message("tool", f"result {i}", tool_call_id=f"call_{i}") for i in range(len(CALLS))]


def read(text):
    parsed = FMT.parse(text, SPECS)
    assert parsed.kind == "tool_calls", parsed.error
    return parsed.thought, [(c.name, c.arguments) for c in parsed.calls]


def turns_of(chatml):
    """ChatML text as (role, content) turns."""
    out = []
    for part in chatml.split("<|im_start|>")[1:]:
        role, _, rest = part.partition("\n")
        out.append((role, rest.split("<|im_end|>")[0]))
    return out


@pytest.fixture(scope="module")
def rendered():
    """What the training renderer writes: the assistant turn with its calls, the tool-results turn."""
    turns = FMT.render(conversation(), SPECS).turns
    assert [t.role for t in turns] == ["system", "user", "assistant", "user"]
    return turns[2].text, turns[3].text


def test_the_renderer_writes_what_the_parser_reads(rendered):
    assert read(rendered[0]) == ("Let me check.", CALLS)


def test_the_jinja_template_writes_the_renderers_bytes(rendered, smol_tokenizer):
    messages = [m.to_openai() for m in conversation()]
    text = smol_tokenizer.apply_chat_template(messages, tools=SPECS, tokenize=False, chat_template=jinja_template("en"))
    assert turns_of(text)[2:] == [("assistant", rendered[0]), ("user", rendered[1])]
    assert read(turns_of(text)[2][1]) == ("Let me check.", CALLS)


@pytest.mark.skipif(GO is None, reason="needs the Go toolchain (`apt-get install golang-go`) to run the template for real")
def test_the_go_template_writes_what_the_parser_reads(rendered, tmp_path):
    messages = [m.to_openai() for m in conversation()]
    for m in messages:
        for c in m.get("tool_calls") or []:
            c["function"]["arguments"] = json.loads(c["function"]["arguments"])
    turns = turns_of(go_render(ollama_template("en"), messages, SPECS, tmp_path)["text"])
    assert turns[3] == ("user", rendered[1])
    assert read(turns[2][1]) == ("Let me check.", CALLS)  # Go writes the arguments compactly


def test_the_openai_backend_folds_tool_messages_into_the_renderers_bytes(rendered):
    folded = fold_tool_messages([m.to_openai() for m in conversation()[1:]], "user")
    assert folded[0] == {"role": "assistant", "content": rendered[0]}
    assert "\n".join(m["content"] for m in folded[1:]) == rendered[1]


def test_the_grammar_accepts_what_the_renderer_writes(rendered, smol_tokenizer):
    import llguidance
    import llguidance.hf

    lltok = llguidance.hf.from_tokenizer(smol_tokenizer)
    matcher = llguidance.LLMatcher(lltok, constraint_for(FMT, SPECS).lark())
    tokens = lltok.tokenize_str(rendered[0])
    assert matcher.validate_tokens(tokens) == len(tokens)
    forced = FMT.forced_call_prefix("calculator")
    assert rendered[0].removeprefix("Let me check.\n").startswith(forced)
    assert forced.startswith(FMT.forced_call_prefix())


def test_the_vllm_plugin_reads_what_the_renderer_writes(rendered, plugin):
    info = plugin.extract_tool_calls(rendered[0], types.SimpleNamespace(tools=SPECS))
    assert info.tools_called and info.content == "Let me check."
    assert [(c.function.name, json.loads(c.function.arguments)) for c in info.tool_calls] == CALLS
