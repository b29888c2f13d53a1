"""Schema-constrained tool calls on the tiny random model, steered to write a chosen completion.

`steer` adds a large bonus to the next token of a script (text-aligned: after the grammar made
the output deviate, it picks the script up again after the longest stretch both share), so the
free output is exactly the mistake a small model makes, and the constrained output shows what
the mask turns it into. The grammars themselves are checked against what the formats render.
"""

from __future__ import annotations

import functools
import json

import jsonschema
import pytest

from tooltune.agent import Agent
from tooltune.formats import get_format
from tooltune.formats.grammar import constraint_for, strict_schema
from tooltune.llm.transformers_backend import TransformersLLM
from tooltune.messages import Message, ToolCall
from tooltune.tools import Tool, ToolRegistry

pytest.importorskip("llguidance")


def spec(name: str, params: dict) -> Tool:
    return Tool.from_openai({"type": "function", "function": {"name": name, "description": "d", "parameters": params}}, func=lambda **a: "{}")


WEATHER = spec("get_weather", {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
                               "required": ["city", "unit"]})
CALC = spec("calculator", {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]})
ORDER = spec("place_order", {"type": "object", "properties": {"items": {"type": "array", "maxItems": 2, "items": {
    "type": "object", "properties": {"sku": {"type": "string", "enum": ["A1", "B2"]}, "qty": {"type": "integer"}}, "required": ["sku", "qty"]}}},
    "required": ["items"]})
ZH = spec("查询天气", {"type": "object", "properties": {"城市": {"type": "string"}}, "required": ["城市"]})
TOOLS = ToolRegistry([WEATHER, CALC, ORDER, ZH])


@functools.lru_cache(maxsize=1)
def vocab_bytes(tokenizer) -> tuple[dict[int, bytes], dict[int, list[tuple[int, bytes]]]]:
    """Every normal token's bytes, by id and by first byte."""
    import llguidance.hf

    lltok = llguidance.hf.from_tokenizer(tokenizer)
    by_id = {t: lltok.decode_bytes([t]) for t in range(lltok.vocab_size) if not lltok.is_special_token(t)}
    by_first: dict[int, list[tuple[int, bytes]]] = {}
    for token, raw in by_id.items():
        if raw:
            by_first.setdefault(raw[0], []).append((token, raw))
    return by_id, by_first


class steer:
    """Pushes the model (a forward hook) towards writing `script`, then an end token: every
    token that continues the script gets a bonus that grows with its length, as a model sure of
    its text would rank them. After the grammar made the text deviate, the script is picked up
    again after the longest stretch (3+ bytes) the text ends with."""

    def __init__(self, model, tokenizer, script: str) -> None:
        self.model, self.tokenizer, self.script = model, tokenizer, script.encode()
        self.by_id, self.vocab = vocab_bytes(tokenizer)
        self.generated: list[int] = []
        self.prompt: int | None = None

    def __enter__(self) -> steer:
        self.handle = self.model.register_forward_hook(self.hook, with_kwargs=True)
        return self

    def __exit__(self, *exc) -> None:
        self.handle.remove()

    def hook(self, module, args, kwargs, output):
        fed = kwargs["input_ids"]
        if self.prompt is None:
            self.prompt = fed.shape[1]
        else:
            self.generated.append(int(fed[0, -1]))
        done = b"".join(self.by_id.get(t, b"") for t in self.generated)
        rest = self.rest(done)
        if not rest:
            output.logits[:, -1, self.tokenizer.eos_token_id] += 60.0
        for token, raw in self.vocab.get(rest[0], []) if rest else []:
            if rest.startswith(raw):
                output.logits[:, -1, token] += 60.0 + len(raw)
        return output

    def rest(self, done: bytes) -> bytes:
        if self.script.startswith(done):
            return self.script[len(done):]
        for n in range(len(done), 2, -1):
            at = self.script.find(done[-n:])
            if at >= 0:
                return self.script[at + n:]
        return b""


def complete(model, tokenizer, script: str, constrain: bool, fmt: str = "json", max_tokens: int = 48):
    llm = TransformersLLM(model_obj=model, tokenizer=tokenizer, prefix_cache=False)
    agent = Agent(llm, TOOLS, fmt, constrain=constrain, max_tokens=max_tokens)
    with steer(model, tokenizer, script):
        completion = llm.complete(agent.request([Message("user", "hi")]))
    return completion.text, agent.parse(completion)


def schema_valid(call: ToolCall) -> bool:
    try:
        jsonschema.validate(call.arguments, strict_schema(TOOLS.get(call.name).to_openai()["function"]["parameters"]))
    except jsonschema.ValidationError:
        return False
    return True


def block(name: str, args: str) -> str:
    return f'<tool_call>\n{{"name": "{name}", "arguments": {args}}}\n</tool_call>'


@pytest.mark.parametrize("wrong, fixed", [
    (block("calculate", '{"expression": "2+2"}'), ToolCall("calculator", {"expression": "2+2"})),
    (block("get_weather", '{"city": "北京", "unit": "摄氏度"}'), ToolCall("get_weather", {"city": "北京", "unit": "fahrenheit"})),
    (block("get_weather", '{"city": "Paris"}'), ToolCall("get_weather", {"city": "Paris", "unit": "fahrenheit"})),
    (block("place_order", '{"items": "two A1"}'), ToolCall("place_order", {"items": []})),
    (block("calculator", '{"expression": "2+2", "precision": 2}'), ToolCall("calculator", {"expression": "2+2"})),
], ids=["unknown-name", "enum-in-question-language", "missing-required", "string-for-array", "unknown-key"])
def test_a_wrong_call_becomes_a_schema_valid_one(tiny_model, smol_tokenizer, wrong, fixed):
    """Where the script offers no allowed value (摄氏度, a missing unit), which enum value comes is
    the random model's choice: fahrenheit, with this seed."""
    free_text, free = complete(tiny_model, smol_tokenizer, wrong, constrain=False)
    assert free_text == wrong  # the steered model really makes the mistake
    assert free.kind == "invalid" or not all(schema_valid(c) for c in free.calls)
    text, parsed = complete(tiny_model, smol_tokenizer, wrong, constrain=True)
    assert parsed.kind == "tool_calls" and [(c.name, c.arguments) for c in parsed.calls] == [(fixed.name, fixed.arguments)], text
    assert all(schema_valid(c) for c in parsed.calls)


def test_text_before_a_call_and_a_plain_answer_are_untouched(tiny_model, smol_tokenizer):
    for script in ["The capital of France is Paris.", "Let me check.\n" + block("calculator", '{"expression": "2+2"}') + "\nDone."]:
        assert complete(tiny_model, smol_tokenizer, script, True)[0] == complete(tiny_model, smol_tokenizer, script, False)[0] == script


def test_chinese_names_and_values_pass_through(tiny_model, smol_tokenizer):
    script = "我来查一下。\n" + block("查询天气", '{"城市": "北京"}')
    text, parsed = complete(tiny_model, smol_tokenizer, script, True, max_tokens=64)
    assert text == script and [(c.name, c.arguments) for c in parsed.calls] == [("查询天气", {"城市": "北京"})]


def test_react_calls_are_constrained_in_both_languages(tiny_model, smol_tokenizer):
    wrong = 'Thought: 查天气\nAction: get_weather\nAction Input: {"city": "上海", "unit": "摄氏"}\n'
    assert complete(tiny_model, smol_tokenizer, wrong, False, "react")[1].calls[0].arguments["unit"] == "摄氏"
    text, parsed = complete(tiny_model, smol_tokenizer, wrong, True, "react")
    assert [(c.name, c.arguments) for c in parsed.calls] == [("get_weather", {"city": "上海", "unit": "fahrenheit"})], text


def test_batched_generation_is_constrained_like_one_by_one(tiny_model, smol_tokenizer):
    wrong = block("get_weather", '{"city": "北京", "unit": "摄氏度"}')
    llm = TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, prefix_cache=False)
    agent = Agent(llm, TOOLS, "json", constrain=True, max_tokens=56)
    requests = [agent.request([Message("user", q)]) for q in ("weather?", "weather in Beijing, please")]
    with steer(tiny_model, smol_tokenizer, wrong):
        one = llm.complete(requests[0]).text
    assert '"unit": "fahrenheit"' in one
    # generate() feeds whole rows: steer by position instead (the n-th forward pass writes the
    # n-th token), the same script for both rows
    ids = smol_tokenizer(wrong, add_special_tokens=False)["input_ids"] + [smol_tokenizer.eos_token_id]
    calls = [0]

    def by_position(module, args, kwargs, output):
        if calls[0] < len(ids):
            output.logits[:, -1, ids[calls[0]]] += 60.0
        calls[0] += 1
        return output

    handle = tiny_model.register_forward_hook(by_position, with_kwargs=True)
    try:
        free_agent = Agent(llm, TOOLS, "json", max_tokens=56)  # one agent: its requests share a cancel flag, so one batch
        free = llm.complete_batch([free_agent.request(r.messages) for r in requests])
        calls[0] = 0
        batched = llm.complete_batch(requests)
    finally:
        handle.remove()
    assert [c.text for c in free] == [wrong, wrong]
    for c in batched:
        parsed = agent.parse(c)
        assert parsed.kind == "tool_calls" and parsed.calls[0].arguments["unit"] in ("celsius", "fahrenheit") and schema_valid(parsed.calls[0]), c.text


def test_tool_choice_none_never_opens_a_call_and_required_always_does(tiny_model, smol_tokenizer):
    from tooltune.serve.protocol import Conversation
    from tooltune.serve.replies import generation_request

    llm = TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, prefix_cache=False)
    fmt = get_format("json")
    specs = [t.to_openai() for t in TOOLS]

    def run(choice: str, script: str, forced: str | None = None, tools=specs) -> str:
        conv = Conversation([Message("user", "hi")], tools, specs, choice, forced, [], 40, 0.0)
        request, prefix = generation_request(fmt, conv)
        with steer(tiny_model, smol_tokenizer, script[len(prefix):]):
            return prefix + llm.complete(request).text

    call = block("calculator", '{"expression": "2+2"}')
    assert run("auto", call) == call
    assert "<tool_call>" not in run("none", call, tools=[])
    forced = run("required", "Sure. " + call)  # the model would talk first
    # The steered text no longer fits after the prefill, so the call may run out of tokens inside
    # a string: then it is a cut-off call (never run), but a call of an offered tool all the same.
    parsed = fmt.parse(forced, specs)
    names = [c.name for c in parsed.calls] or [t.split(":")[0] for t in parsed.truncated]
    assert forced.startswith('<tool_call>\n{"name": "') and names and set(names) <= {"calculator", "get_weather"}, forced
    unprefilled = Agent(llm, TOOLS, fmt, max_tokens=48).request([Message("user", "hi")])  # required by the grammar alone
    unprefilled.constraint = constraint_for(fmt, specs, "required")
    with steer(tiny_model, smol_tokenizer, "Sure. " + call):
        text = llm.complete(unprefilled).text
    assert text.startswith("<tool_call>\n") and fmt.parse(text, specs).kind == "tool_calls", text
    named = fmt.parse(run("function", block("get_weather", '{"city": "Paris", "unit": "K"}'), "get_weather"), specs)
    assert [(c.name, c.arguments) for c in named.calls] == [("get_weather", {"city": "Paris", "unit": "fahrenheit"})]


def test_the_grammar_accepts_exactly_what_the_formats_render(smol_tokenizer):
    import llguidance
    import llguidance.hf

    lltok = llguidance.hf.from_tokenizer(smol_tokenizer)
    specs = [t.to_openai() for t in TOOLS]
    calls = [ToolCall("place_order", {"items": [{"sku": "B2", "qty": 3}]}), ToolCall("查询天气", {"城市": "北京"})]
    for fmt_name, lang in [("json", "en"), ("react", "en"), ("react", "zh")]:
        fmt = get_format(fmt_name, lang)
        one = calls[:1] if lang == "en" else calls[1:]  # react writes one call per completion
        msg = Message("assistant", None, one if fmt_name == "react" else calls, reasoning_content="先想一想")
        rendered = fmt.render([Message("user", "q"), msg], specs).turns[-1].text
        rendered = rendered.removesuffix("Observation:")
        matcher = llguidance.LLMatcher(lltok, constraint_for(fmt, specs).lark())
        assert matcher.validate_tokens(lltok.tokenize_str(rendered)) == len(lltok.tokenize_str(rendered)), rendered
        bad = rendered.replace('"B2"', '"C3"').replace('"北京"', '1')
        assert matcher.validate_tokens(lltok.tokenize_str(bad)) < len(lltok.tokenize_str(bad))


def test_objects_without_additional_properties_are_closed_and_other_formats_are_not_constrained():
    assert strict_schema({}) == {"type": "object", "properties": {}, "additionalProperties": False}
    nested = strict_schema(ORDER.to_openai()["function"]["parameters"])
    assert nested["additionalProperties"] is False and nested["properties"]["items"]["items"]["additionalProperties"] is False
    assert strict_schema({"type": "object", "properties": {}, "additionalProperties": True})["additionalProperties"] is True
    specs = [t.to_openai() for t in TOOLS]
    assert constraint_for(get_format("native", tool_parser="mistral"), specs) is None
    assert constraint_for(get_format("native", tool_parser="hermes"), specs).syntax == "json"
    assert constraint_for(get_format("json"), []) is None
    assert json.loads(json.dumps(constraint_for(get_format("json"), specs, "function", "calculator").tools)) == [specs[1]]


def test_eval_settings_record_constraints_and_only_local_transformers_enforce_them():
    from tooltune.eval.runner import EvalSettings
    from tooltune.llm import enforces_constraints

    assert "constrain" not in EvalSettings().to_json()  # free results resume as before
    assert EvalSettings(constrain=True).to_json()["constrain"] is True
    assert enforces_constraints("m", "http://localhost:8000/v1") is False
    assert enforces_constraints("m.gguf", None, backend="llamacpp") is False
    assert enforces_constraints("m", None, backend="transformers") is True
