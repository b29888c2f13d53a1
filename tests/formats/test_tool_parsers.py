"""Native tool parsers, one per family (issue 20): each family's documented syntax parses to the
exact canonical result — single, parallel, typed, reasoning-wrapped, text-around, truncated,
malformed and no-call cases — by name, and by auto-detection from the completion or template."""

import json
from collections import Counter

import pytest

from tooltune.errors import TooltuneError
from tooltune.formats import get_format
from tooltune.formats.tool_parsers import NAMES, PARSERS, detect_tool_parser, get_tool_parser, sniff_tool_parser

from .cases import TOOLS
from .tool_parser_cases import CASES


@pytest.mark.parametrize("family,case_id,text,expected", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_family_parser(family, case_id, text, expected):
    assert get_format("native", tool_parser=family).parse(text, TOOLS).to_json() == expected


# Llama 3.2's Python list, Llama's bare JSON cut mid-way and GLM-4's `name\n{json}` or argument-less
# block carry no family marker: only the template (`use_model`) or `--tool-parser` can name their family.
UNMARKED = {("llama3", "pythonic_3_2"), ("glm", "glm4_json"), ("llama3", "cut_in_second_json"), ("llama3", "cut_in_python_list"),
            ("glm", "no_arguments"), ("gemma", "gemma4_bare_call_after_thought")}
CALL_CASES = [c for c in CASES if c[0] != "hermes" and c[3]["kind"] == "tool_calls" and c[:2] not in UNMARKED]


@pytest.mark.parametrize("family,case_id,text,expected", CALL_CASES, ids=[f"{c[0]}-{c[1]}" for c in CALL_CASES])
def test_auto_reads_the_family_from_the_completion(family, case_id, text, expected):
    """With no tokenizer known, `auto` finds the family from the completion's own markers."""
    assert get_format("native").parse(text, TOOLS).to_json() == expected


def test_every_named_family_has_cases_and_a_parser():
    assert set(NAMES) == set(PARSERS) == {c[0] for c in CASES}
    assert Counter(c[0] for c in CASES) == {"hermes": 8, "llama3": 12, "mistral": 13, "qwen3-xml": 11, "deepseek": 22,
                                            "glm": 10, "kimi": 19, "gpt-oss": 10, "gemma": 21}


def test_unknown_parser_is_a_one_line_error():
    with pytest.raises(TooltuneError, match="unknown tool parser 'vicuna': use auto or one of hermes, llama3"):
        get_format("native", tool_parser="vicuna")
    with pytest.raises(TooltuneError, match="applies to --format native only"):
        get_format("react", tool_parser="hermes")


# Marker lines as each family's chat template / tokenizer carries them (faithful excerpts).
TEMPLATES = {
    "gpt-oss": "{{- '<|start|>assistant<|channel|>commentary to=functions.' }}...<|constrain|>json<|message|>...<|call|>",
    "kimi": "{%- if message['tool_calls'] -%}<|tool_calls_section_begin|>{%- for tool_call in message['tool_calls'] -%}",
    "deepseek": "{{'<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>'}}",
    "glm": "<tool_call>{{ tc.name }}\n{% for k, v in tc.arguments.items() %}<arg_key>{{ k }}</arg_key>\n<arg_value>",
    "qwen3-xml": "{{- '<tool_call>\\n<function=' + tool_call.name + '>\\n' }}{{- '<parameter=' + args_name + '>\\n' }}",
    "mistral": "{{- '[TOOL_CALLS]' + tool.function.name + '[ARGS]' + tool.function.arguments|tojson }}",
    "gemma": "{{ '<start_of_turn>' + role + '\\n' }}{{ '<start_function_call>call:' }}",
    "llama3": "{{- '<|start_header_id|>ipython<|end_header_id|>\\n\\n' }}{{- '<|python_tag|>' }}",
    "hermes": "{{- '<tool_call>\\n{\"name\": \"' }}{{- tool_call.name }}",
}


@pytest.mark.parametrize("family", sorted(TEMPLATES))
def test_family_detected_from_the_chat_template(family):
    assert detect_tool_parser(TEMPLATES[family]) == family


# The newest generations' templates / special tokens (faithful excerpts), issue 31.
NEW_TEMPLATES = [
    ("deepseek", "{{'<｜Assistant｜>'}}{%- if tools %}<｜DSML｜function_calls>\n{%- for tc in tool_calls %}<｜DSML｜invoke name=\"{{ tc.name }}\">"),
    ("gemma", "{{- '<|turn>model\n' -}}{%- if message['tool_calls'] -%}{{- '<|tool_call>call:' + function['name'] + '{' -}}"),
    ("kimi", "{%- for tool_call in message['tool_calls'] -%}<|open|>call tool=\"{{ tool_call.function.name }}\" index=\"{{ loop.index }}\"<|sep|>"),
    ("llama3", "{{- '<|header_start|>ipython<|header_end|>\n\n' }}{{- '<|python_start|>' }}"),
]


@pytest.mark.parametrize("family,template", NEW_TEMPLATES, ids=[f"{f}-{t[:12]}" for f, t in NEW_TEMPLATES])
def test_newest_generations_are_detected_from_the_template(family, template):
    fmt = get_format("native")
    assert detect_tool_parser(template) == family and fmt.use_model(template) == family


@pytest.mark.parametrize("completion,family", [
    ('Checking.<｜DSML｜function_calls>\n<｜DSML｜invoke name="x">', "deepseek"),
    ('<|DSML|function_calls>\n<|DSML|invoke name="x">', "deepseek"),
    ("<|channel>thought\nhm<channel|>It is sunny.", "gemma"),
    ("<|tool_call>call:x{}<tool_call|>", "gemma"),
    ("Hi.<|close|>response<|sep|><|open|>tools<|sep|>", "kimi"),
    ("<|python_start|>[x()]<|python_end|>", "llama3"),
])
def test_newest_generations_are_sniffed_from_the_completion(completion, family):
    assert sniff_tool_parser(completion) == family


def test_detection_reads_tokenizer_templates_and_special_tokens(smol_tokenizer):
    class Tok:
        chat_template = {"default": "plain", "tool_use": TEMPLATES["kimi"]}
        all_special_tokens = []

    assert detect_tool_parser(Tok()) == "kimi"
    assert detect_tool_parser(smol_tokenizer) == "hermes"  # SmolLM2: nothing family-specific
    fmt = get_format("native")
    assert fmt.use_model(TEMPLATES["glm"]) == "glm" and fmt.tool_parser == "glm"
    assert get_format("native", tool_parser="kimi").use_model(TEMPLATES["glm"]) == "kimi"  # a forced name stays


def test_sniffing_falls_back_to_hermes():
    assert sniff_tool_parser("just text") == "hermes"
    assert get_tool_parser("hermes").name == "hermes"


def test_mistral_v3_rendered_by_mistral_common_parses_back():
    """Rendered for real: mistral-common's own tokenizer (tekken, shipped in the wheel) writes a
    parallel tool-call turn; the mistral parser reads exactly those calls back."""
    mc = pytest.importorskip("mistral_common")
    import os

    from mistral_common.protocol.instruct.messages import AssistantMessage, ToolMessage, UserMessage
    from mistral_common.protocol.instruct.request import ChatCompletionRequest
    from mistral_common.protocol.instruct.tool_calls import Function, FunctionCall, Tool, ToolCall
    from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

    tok = MistralTokenizer.from_file(os.path.join(os.path.dirname(mc.__file__), "data", "tekken_240911.json"))
    spec = TOOLS[-1]["function"]
    args = [{"city": "Paris"}, {"city": "Rome", "days": 3}]
    msgs = [UserMessage(content="weather?"), AssistantMessage(content=None, tool_calls=[
        ToolCall(id=f"abcdefgh{i}", function=FunctionCall(name="get_weather", arguments=json.dumps(a))) for i, a in enumerate(args)])]
    msgs += [ToolMessage(content="sunny", tool_call_id=f"abcdefgh{i}") for i in range(2)]  # it renders finished turns
    text = tok.encode_chat_completion(ChatCompletionRequest(messages=msgs, tools=[Tool(function=Function(**spec))])).text
    start = text.rindex("[/INST]") + len("[/INST]")
    completion = text[start : text.index("</s>", start) + len("</s>")]  # the assistant turn, as generated
    assert completion.startswith("[TOOL_CALLS][{")
    parsed = get_format("native", tool_parser="mistral").parse(completion, TOOLS)
    assert [(c.name, c.arguments) for c in parsed.calls] == [("get_weather", a) for a in args]


def test_eval_parses_native_completions_with_the_model_family():
    """The eval binds the native format to the model's family (from its tokenizer's template)."""
    from tooltune.eval.items import make_item
    from tooltune.eval.runner import EvalRunner, EvalSettings
    from tooltune.llm.scripted import ScriptedLLM
    from tooltune.messages import Message, Sample, ToolCall as Call

    class Tok:
        chat_template = TEMPLATES["glm"]

    llm = ScriptedLLM([])
    llm.tokenizer = Tok()
    item = make_item("x", Sample([Message("user", "Paris?"), Message("assistant", None, tool_calls=[Call("get_weather", {"city": "Paris"})])], TOOLS), {}, "t")
    agent, _ = EvalRunner(llm, EvalSettings(format="native")).agent_for(item)
    assert agent.format.tool_parser == "glm"


# -- strict tags (issue 31): bare JSON in a normal answer is never a call ----------------------------
BARE = '{"name": "get_weather", "arguments": {"city": "Paris"}} is the shape of a call.'


@pytest.mark.parametrize("fmt,family", [("json", None), ("native", "hermes"), ("native", "gemma"), ("native", "llama3"), ("native", None)])
def test_strict_tags_read_bare_json_as_text(fmt, family):
    lenient, strict = (get_format(fmt, tool_parser=family, strict_tags=s) for s in (False, True))
    assert lenient.parse(BARE, TOOLS).kind == "tool_calls"
    assert strict.parse(BARE, TOOLS).to_json() == {"kind": "final", "content": BARE}


@pytest.mark.parametrize("family,case_id,text,expected", [c for c in CASES if c[3]["kind"] == "tool_calls" and c[:2] not in {
    ("llama3", "json_parameters"), ("llama3", "parallel_semicolon"), ("llama3", "pythonic_3_2"), ("llama3", "type_function_key"),
    ("llama3", "cut_in_second_json"), ("llama3", "cut_in_python_list"), ("llama3", "reasoning_wrapped"),
    ("gemma", "gemma4_bare_call_after_thought")}], ids=lambda c: str(c)[:40])
def test_strict_tags_keep_every_tagged_call(family, case_id, text, expected):
    """Every family's tagged calls parse the same in strict mode (llama3's untagged JSON and
    Python lists, and Gemma 4's bare `call:`, are the only calls strict mode gives up)."""
    assert get_format("native", tool_parser=family, strict_tags=True).parse(text, TOOLS).to_json() == expected


def test_strict_tags_apply_to_json_and_native_only():
    with pytest.raises(TooltuneError, match="--strict-tags applies to --format json or native"):
        get_format("react", strict_tags=True)
