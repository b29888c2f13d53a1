"""The parser contract (issue 13 item 1), property-based: for *any* string every format returns
exactly one JSON-serialisable result and never raises; `parse --jsonl` prints exactly one JSON
line per input line, whatever the line holds. Speed is measured by benchmarks/parse_worst_case.py."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tooltune.cli import app
from tooltune.formats import get_format
from tooltune.formats.base import Parsed

from .cases import CASES, INVALID, TOOLS

FORMATS = ["react", "json"]
NAMES = {t["function"]["name"] for t in TOOLS}
NOISE = [
    "，", "：", "“", "”", "‘", "’", "【", "】", "｛", "｝", "（", "）",  # full-width punctuation
    "\x00", "\x01", "\x1b", "\x7f", "\t", "\r", "\x0b", "\x0c", "\n",  # control characters
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff",  # zero-width and BOM
    "😀", "👨‍👩‍👧", "🇫🇷",  # emoji (incl. joined sequences)
    "\ud800", "\udfff", "\udc80",  # lone surrogates
    "{", "}", "[", "]", '"', "'", "\\", "...", "```", "Observation:", "Action:", "Action Input:", "Final Answer:",
    "Thought:", "<tool_call>", "</tool_call>", "<|im_end|>", "思考：", "行动：", "<think>", "</think>",
]
SEEDS = {f: [t for _, fmt, t, _ in CASES + INVALID if fmt == f] for f in FORMATS}
HUGE = {
    "5000_nested_braces": "{" * 5000 + "}" * 5000,
    "5000_open_braces": "{" * 5000,
    "20000_open_brackets": "[" * 20000,
    "200kB_string": '{"expression": "' + "1+" * 100_000 + '1"}',
    "200kB_unclosed_string": '{"query": "' + "x" * 200_000,
    "200kB_whitespace": "```" + " " * 200_000,
    "python_ellipsis": "{'expression': ..., 'more': (1, {2}), 'b': b'x', 'c': 1j}",
    "5000_digit_int": '{"top_k": ' + "9" * 5000 + ', "query": "x"}',
}
PREFIXES = {"react": ["Action: web_search\nAction Input: ", "Action: web_search(query=", "Final Answer: "],
            "json": ["<tool_call>", '<tool_call>{"name": "web_search", "arguments": ', ""]}


def _plain_json(value: object) -> bool:
    """Only JSON's own types, finite numbers. (Not `json.loads(json.dumps(x)) == x`: a string
    holding a surrogate pair as two code points comes back as one character.)"""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain_json(v) for v in value)
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    return value is None or isinstance(value, (str, bool, int))


def check(fmt_name: str, text: str) -> Parsed:
    parsed = get_format(fmt_name).parse(text, TOOLS)
    assert isinstance(parsed, Parsed) and parsed.kind in ("tool_calls", "final", "invalid")
    out = parsed.to_json()
    assert _plain_json(out), out  # plain JSON whatever the kind: no NaN, tuple, bytes or set leaks out
    json.dumps(out, allow_nan=False)
    if parsed.kind == "invalid":
        assert isinstance(parsed.error, str) and parsed.error
    elif parsed.kind == "tool_calls":
        assert parsed.calls and all(c.name in NAMES and isinstance(c.arguments, dict) for c in parsed.calls)
    else:
        assert isinstance(parsed.content, str)
    return parsed


@st.composite
def mutated(draw, fmt_name):
    text = draw(st.sampled_from(SEEDS[fmt_name]))
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(st.sampled_from(NOISE)) + text[pos:]
    return text[: draw(st.integers(0, len(text)))] if draw(st.booleans()) else text


# Any code point, lone surrogates included; or a soup of the characters and keywords above.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=300) | st.lists(st.sampled_from(NOISE), max_size=60).map("".join)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("fmt_name", FORMATS)
@FUZZ
@given(data=st.data())
def test_any_mutation_of_a_real_completion_parses_without_raising(fmt_name, data):
    check(fmt_name, data.draw(mutated(fmt_name)))


@pytest.mark.parametrize("fmt_name", FORMATS)
@FUZZ
@given(text=ANY_TEXT)
def test_any_string_parses_without_raising(fmt_name, text):
    check(fmt_name, text)


@pytest.mark.parametrize("fmt_name", FORMATS)
def test_every_truncation_of_every_case(fmt_name):
    for text in SEEDS[fmt_name]:
        for cut in range(len(text) + 1):
            check(fmt_name, text[:cut])


@pytest.mark.parametrize("fmt_name", FORMATS)
@pytest.mark.parametrize("name", sorted(HUGE))
def test_degenerate_inputs(fmt_name, name):
    for prefix in PREFIXES[fmt_name]:
        check(fmt_name, prefix + HUGE[name])


def test_degenerate_arguments_are_read_or_refused_exactly():
    """Deep nesting is refused with a reason; Python `...` and tuples become JSON values."""
    assert check("json", "<tool_call>" + HUGE["20000_open_brackets"] + "</tool_call>").error == "<tool_call> block is nested more than 64 levels deep"
    assert check("json", "<tool_call>" + HUGE["20000_open_brackets"]).truncated == ["the <tool_call> block is cut off before </tool_call>"]
    expected = {"expression": "...", "more": [1, [2]], "b": "x", "c": "1j"}
    parsed = check("json", '<tool_call>{"name": "calculator", "arguments": ' + HUGE["python_ellipsis"] + "}</tool_call>")
    assert parsed.calls[0].arguments == expected
    assert check("react", "Action: calculator\nAction Input: " + HUGE["python_ellipsis"]).calls[0].arguments == expected
    assert check("react", "Action: calculator(expression=..., more=(1, {2}), b=b'x', c=1j)").calls[0].arguments == expected


runner = CliRunner()
LINE = st.one_of(
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b"")),
    ANY_TEXT.map(lambda t: json.dumps({"format": "react", "text": t})),
    st.builds(lambda f, t: json.dumps({"format": f, "text": t, "tools": TOOLS}), st.sampled_from(FORMATS), ANY_TEXT),
    st.sampled_from(["", "   ", "[]", "null", '"x"', '{"text": 5}', '{"text": "x", "tools": "calc"}', '{"text": "x", "tools": [{"function": 3}]}',
                     '{"text": "x", "format": "yaml"}', '{"text": "x", "format": "react", "tool_parser": "hermes"}',
                     '{"text": "\\ud800 lone"}', "[" * 20000, '{"text": "' + "[" * 20000 + '"}']),
).map(lambda x: x.encode("utf-8", "surrogatepass") if isinstance(x, str) else x)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, min_size=1, max_size=8))
def test_parse_jsonl_prints_one_json_line_per_input_line(lines):
    result = runner.invoke(app, ["parse", "--jsonl"], input=b"\n".join(lines) + b"\n")
    assert result.exit_code == 0, result.output
    out = result.stdout_bytes.decode("utf-8").splitlines()
    assert len(out) == len(lines)
    for n, line in enumerate(out, 1):
        got = json.loads(line)
        assert got["kind"] in ("tool_calls", "final", "invalid")
        if got["kind"] == "invalid" and got["error"].startswith("line "):
            assert got["error"].startswith(f"line {n}:")


# -- native family parsers: the same contract ----------------------------------------------------
from tooltune.formats.tool_parsers import NAMES as FAMILIES  # noqa: E402

from .tool_parser_cases import CASES as FAMILY_CASES  # noqa: E402

FAMILY_SEEDS = {name: [t for fam, _, t, _ in FAMILY_CASES if fam == name] for name in FAMILIES}
FAMILY_NOISE = NOISE + ["[TOOL_CALLS]", "[ARGS]", "<function=", "</function>", "<parameter=", "</parameter>", "<arg_key>",
                        "<arg_value>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>",
                        "<|channel|>", "<|message|>", "<|start|>", "<|call|>", " to=functions.", "<start_function_call>",
                        "<escape>", "<|python_tag|>", "[THINK]", "```tool_code\n", "get_weather(",
                        # issue 31: DSML, Gemma 4, Kimi K3, Llama 4
                        "<｜DSML｜function_calls>", "</｜DSML｜function_calls>", '<｜DSML｜invoke name="get_weather">', "</｜DSML｜invoke>",
                        '<｜DSML｜parameter name="city" string="true">', '<｜DSML｜parameter name="days" string="false">', "</｜DSML｜parameter>",
                        "<|tool_call>", "call:get_weather{", "<tool_call|>", '<|"|>', "<turn|>", "<|channel>thought\n", "<channel|>",
                        "<|open|>tools<|sep|>", "<|close|>tools<|sep|>", '<|open|>call tool="get_weather" index="1"<|sep|>', "<|close|>call<|sep|>",
                        '<|open|>argument key="city" type="string"<|sep|>', "<|close|>argument<|sep|>", "<|close|>response<|sep|>",
                        "<|open|>think<|sep|>", "<|close|>think<|sep|>", "<|python_start|>", "<|python_end|>"]


def check_native(name: str, text: str) -> None:
    for strict in (False, True):
        parsed = get_format("native", tool_parser=name, strict_tags=strict).parse(text, TOOLS)
        assert isinstance(parsed, Parsed) and parsed.kind in ("tool_calls", "final", "invalid")
        json.dumps(parsed.to_json(), allow_nan=False)
        if parsed.kind == "tool_calls":
            assert parsed.calls and all(c.name in NAMES and isinstance(c.arguments, dict) for c in parsed.calls)
        elif parsed.kind == "invalid":
            assert parsed.error
        assert all(isinstance(t, str) and t for t in parsed.truncated)




@pytest.mark.parametrize("name", FAMILIES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_family_parsers_never_raise(name, data):
    text = data.draw(st.sampled_from(FAMILY_SEEDS[name]))
    for _ in range(data.draw(st.integers(0, 4))):
        pos = data.draw(st.integers(0, len(text)))
        text = text[:pos] + data.draw(st.sampled_from(FAMILY_NOISE)) + text[pos:]
    if data.draw(st.booleans()):
        text = text[: data.draw(st.integers(0, len(text)))]
    check_native(name, text)


@pytest.mark.parametrize("name", FAMILIES)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(st.characters(exclude_categories=()), max_size=200) | st.lists(st.sampled_from(FAMILY_NOISE), max_size=40).map("".join))
def test_family_parsers_take_any_string(name, text):
    check_native(name, text)


@pytest.mark.parametrize("name", FAMILIES)
def test_family_parsers_on_degenerate_inputs_and_every_truncation(name):
    for seed in FAMILY_SEEDS[name]:
        for cut in range(len(seed) + 1):
            check_native(name, seed[:cut])
        for huge in HUGE.values():
            check_native(name, seed[: len(seed) // 2] + huge)
