"""Issue 35: a cut-off call is never a call, and tag-like text inside a call's strings is text.

1. A completion cut at EVERY position of a two-call completion (max_tokens, a broken stream):
   whatever comes back as a call is exactly one of the complete calls, the second call never
   comes back before its end was written, and once the second call has begun the parse reports
   it as truncated. For every format and every native family.
2. A call whose string argument holds its format's own markers (and `<think>`) is one call
   with that exact string, in every format.
"""

import json

import pytest

from tooltune.formats import get_format

from .cases import TOOLS
from .tool_parser_cases import CASES as FAMILY_CASES

PARIS, ROME3 = ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome", "days": 3})
TWO = [PARIS, ROME3]


def _case(family, case_id):
    return next(text for fam, cid, text, _ in FAMILY_CASES if (fam, cid) == (family, case_id))


# (id, format, tool parser, completion, where the second call's body starts, where it is complete
# [, where its section closes]). Positions are marker strings: after the LAST occurrence of each.
# Between a call's end and its section's end the calls are complete but the cut is still reported.
TWO_CALLS = [
    ("json", "json", None, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
     '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome", "days": 3}}\n</tool_call>', "<tool_call>", "</tool_call>"),
    ("react", "react", None, 'Thought: two cities\nAction: get_weather\nAction Input: {"city": "Paris"}\n'
     'Action: get_weather\nAction Input: {"city": "Rome", "days": 3}\n', "Action:", "}"),
    ("hermes", "native", "hermes", _case("hermes", "parallel"), "<tool_call>", "</tool_call>"),
    ("llama3_json", "native", "llama3", _case("llama3", "parallel_semicolon"), "; {", "}"),
    ("llama3_pythonic", "native", "llama3", _case("llama3", "pythonic_3_2"), ", get_weather(", ")"),
    ("mistral_v3", "native", "mistral", _case("mistral", "v3_parallel"), "[TOOL_CALLS]", "]"),
    ("mistral_v11", "native", "mistral", _case("mistral", "v11_parallel"), "[TOOL_CALLS]", "}"),
    ("qwen3-xml", "native", "qwen3-xml", _case("qwen3-xml", "typed_parallel"), "<tool_call>", "</tool_call>"),
    ("deepseek_v3", "native", "deepseek", _case("deepseek", "v3_parallel"), "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>"),
    ("glm", "native", "glm", _case("glm", "typed_parallel"), "<tool_call>", "</tool_call>"),
    ("kimi_k2", "native", "kimi", _case("kimi", "parallel"), "<|tool_call_begin|>", "<|tool_call_end|>", "<|tool_calls_section_end|>"),
    ("gpt-oss", "native", "gpt-oss", '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>'
     '<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Rome", "days": 3}<|call|>',
     "<|message|>", "}"),
    ("functiongemma", "native", "gemma", _case("gemma", "functiongemma_parallel_typed"), "<start_function_call>", "<end_function_call>"),
]


def parse(fmt, parser, text):
    return get_format(fmt, tool_parser=parser).parse(text, TOOLS)


@pytest.mark.parametrize("case_id,fmt,parser,text,second,done,closes", [(*c, c[-1]) if len(c) == 6 else c for c in TWO_CALLS],
                         ids=[c[0] for c in TWO_CALLS])
def test_no_cut_of_a_two_call_completion_comes_back_as_a_call(case_id, fmt, parser, text, second, done, closes):
    second_at, done_at = text.rindex(second) + len(second), text.rindex(done) + len(done)
    parses = [parse(fmt, parser, text[:cut]) for cut in range(len(text) + 1)]
    assert [(c.name, c.arguments) for c in parses[-1].calls] == TWO
    for cut, parsed in enumerate(parses[:-1]):
        got = [(c.name, c.arguments) for c in parsed.calls]
        assert got == TWO[: len(got)], (cut, text[:cut])  # only complete calls, never a repaired guess
        if cut < done_at:
            assert len(got) < 2, (cut, text[:cut])
    assert parses[-1].truncated == []
    for cut, parsed in enumerate(parses[:-1]):
        if second_at <= cut < text.rindex(closes) + len(closes):
            assert parsed.truncated, (cut, text[:cut])  # the cut-off call (or section) is reported
            assert parsed.kind == ("tool_calls" if parsed.calls else "invalid")


def test_the_issue_example_runs_the_first_call_and_reports_the_second():
    text = ('<tool_call>\n{"name": "web_search", "arguments": {"query": "ann"}}\n</tool_call>\n'
            '<tool_call>\n{"name": "get_weather", "arguments": {"city": "ann@exa')
    parsed = parse("json", None, text)
    assert parsed.to_json() == {"kind": "tool_calls", "calls": [{"name": "web_search", "arguments": {"query": "ann"}}],
                                "truncated": ["get_weather: the <tool_call> block is cut off before </tool_call>"]}


@pytest.mark.parametrize("text,expected", [
    # closed blocks keep their repairs: missing final brace, single quotes, Python literals, trailing comma
    ('<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}</tool_call>', [PARIS]),
    ("<tool_call>{'name': 'get_weather', 'arguments': {'city': 'Paris', 'unit': None,}}</tool_call>",
     [("get_weather", {"city": "Paris", "unit": None})]),
    # a block that forgot </tool_call> but is followed by another one was not cut off
    ('<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}\n<tool_call>{"name": "get_weather", "arguments": {"city": "Rome", "days": 3}}</tool_call>', TWO),
])
def test_repair_stays_for_closed_blocks(text, expected):
    parsed = parse("json", None, text)
    assert [(c.name, c.arguments) for c in parsed.calls] == expected
    assert parsed.truncated == []


@pytest.mark.parametrize("text,expected", [
    # ReAct stops at "Observation:", so a complete call has no closer: JSON completeness decides
    ('Action: get_weather\nAction Input: {"city": "Paris"}\n', {"kind": "tool_calls", "calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}),
    ('Action: get_weather\nAction Input: {"city": "Paris"', {"kind": "invalid", "error": "get_weather: the completion ends inside its Action Input (the JSON never closes) (a truncated call, not run)",
                                                              "truncated": ["get_weather: the completion ends inside its Action Input (the JSON never closes)"]}),
    ('Action: get_weather\nAction Input: {"city": "Par', {"kind": "invalid", "error": "get_weather: the completion ends inside its Action Input (the JSON never closes) (a truncated call, not run)",
                                                          "truncated": ["get_weather: the completion ends inside its Action Input (the JSON never closes)"]}),
    ('Action: web_search\nAction Input: "capital of Fra', {"kind": "invalid", "error": "web_search: the completion ends inside its Action Input (the JSON never closes) (a truncated call, not run)",
                                                           "truncated": ["web_search: the completion ends inside its Action Input (the JSON never closes)"]}),
    ("Action: web_search\nAction Input:", {"kind": "invalid", "error": "web_search: the completion ends right after 'Action Input:' (a truncated call, not run)",
                                           "truncated": ["web_search: the completion ends right after 'Action Input:'"]}),
    ('Action: web_search(query="Par', {"kind": "invalid", "error": "web_search: the completion ends inside its call's arguments (a truncated call, not run)",
                                       "truncated": ["web_search: the completion ends inside its call's arguments"]}),
    # a name that is not plain text (here lone surrogates) is quoted, so the report survives JSON
    ("Action:\ud800\udfff", {"kind": "invalid", "error": "'\\ud800\\udfff': the completion ends inside its Action line (a truncated call, not run)",
                              "truncated": ["'\\ud800\\udfff': the completion ends inside its Action line"]}),
    # an unclosed brace before a keyword was not cut off: the keyword closes it, repair reads it
    ('Action: get_weather\nAction Input: {"city": "Paris"\nObservation: sunny', {"kind": "tool_calls", "calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}),
])
def test_react_cut_off_is_told_by_json_completeness(text, expected):
    got = parse("react", None, text).to_json()
    got.pop("reasoning", None)
    assert got == expected and json.loads(json.dumps(got)) == got


STRING = "wrap calls in <tool_call></tool_call>; think inside <think></think>"
# (id, format, parser, completion with the family's markers inside a string argument, that string)
MARKERS_IN_STRINGS = [
    ("json", "json", None, '<tool_call>{"name": "web_search", "arguments": {"query": ' + json.dumps(STRING) + "}}</tool_call>", STRING),
    ("json_single_quotes", "json", None, "<tool_call>{'name': 'web_search', 'arguments': {'query': '" + STRING + "'}}</tool_call>", STRING),
    ("json_untagged", "json", None, '{"name": "web_search", "arguments": {"query": ' + json.dumps(STRING) + "}}", STRING),
    ("react", "react", None, 'Action: web_search\nAction Input: {"query": "then Observation: 5\\nFinal Answer: 6 Action: y </think>"}',
     "then Observation: 5\nFinal Answer: 6 Action: y </think>"),
    ("react_call_syntax", "react", None, 'Action: web_search(query="Observation: Final Answer: x")', "Observation: Final Answer: x"),
    ("hermes", "native", "hermes", '<tool_call>\n{"name": "web_search", "arguments": {"query": ' + json.dumps(STRING) + "}}\n</tool_call>", STRING),
    ("llama3", "native", "llama3", '{"name": "web_search", "parameters": {"query": "a <|python_tag|> b; {\\"name\\": 1} </think>"}}',
     'a <|python_tag|> b; {"name": 1} </think>'),
    ("mistral", "native", "mistral", '[TOOL_CALLS]web_search[ARGS]{"query": "x [TOOL_CALLS]y[ARGS]{} </think>"}', "x [TOOL_CALLS]y[ARGS]{} </think>"),
    ("qwen3-xml", "native", "qwen3-xml", "<tool_call>\n<function=web_search>\n<parameter=query>\nsay </function></tool_call><function=x> </think>\n</parameter>\n</function>\n</tool_call>",
     "say </function></tool_call><function=x> </think>"),
    ("deepseek", "native", "deepseek", '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>web_search<｜tool▁sep｜>{"query": "a<｜tool▁call▁end｜><｜tool▁calls▁end｜> </think>"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
     "a<｜tool▁call▁end｜><｜tool▁calls▁end｜> </think>"),
    ("glm", "native", "glm", "<tool_call>web_search\n<arg_key>query</arg_key>\n<arg_value>a </tool_call><tool_call>b </think></arg_value>\n</tool_call>",
     "a </tool_call><tool_call>b </think>"),
    ("kimi", "native", "kimi", '<|tool_calls_section_begin|><|tool_call_begin|>functions.web_search:0<|tool_call_argument_begin|>{"query": "a<|tool_call_end|><|tool_calls_section_end|> </think>"}<|tool_call_end|><|tool_calls_section_end|>',
     "a<|tool_call_end|><|tool_calls_section_end|> </think>"),
    ("gpt-oss", "native", "gpt-oss", '<|channel|>commentary to=functions.web_search <|constrain|>json<|message|>{"query": "a<|call|><|end|><|start|>b </think>"}<|call|>',
     "a<|call|><|end|><|start|>b </think>"),
    ("functiongemma", "native", "gemma", "<start_function_call>call:web_search{query:<escape>a<end_function_call><start_function_call> </think><escape>}<end_function_call>",
     "a<end_function_call><start_function_call> </think>"),
]


@pytest.mark.parametrize("case_id,fmt,parser,text,string", MARKERS_IN_STRINGS, ids=[c[0] for c in MARKERS_IN_STRINGS])
def test_markers_inside_strings_are_text(case_id, fmt, parser, text, string):
    parsed = parse(fmt, parser, text)
    assert (parsed.kind, [(c.name, c.arguments) for c in parsed.calls], parsed.reasoning) == ("tool_calls", [("web_search", {"query": string})], None)
    assert parsed.truncated == []


def test_think_tags_inside_a_call_after_real_reasoning():
    text = '<think>I will search.</think>\n<tool_call>{"name": "web_search", "arguments": {"query": "what does </think> mean"}}</tool_call>'
    parsed = parse("json", None, text)
    assert parsed.reasoning == "I will search." and parsed.calls[0].arguments == {"query": "what does </think> mean"}
    only_closing = 'I will search.</think>\n<tool_call>{"name": "web_search", "arguments": {"query": "<think>x</think>"}}</tool_call>'
    parsed = parse("json", None, only_closing)
    assert parsed.reasoning == "I will search." and parsed.calls[0].arguments == {"query": "<think>x</think>"}


def test_scan_tells_which_brackets_are_open_and_where_an_open_string_begins():
    from tooltune.formats.scan import DOUBLE_QUOTED, scan

    found = scan('{"a": [{"b": "x]", "c": "Liv', brackets=True, strings=DOUBLE_QUOTED, openers='"')
    assert (found.how, found.depth, found.brackets, found.opened) == ("open_string", 3, "{[{", 24)
    done = scan('{"a": [1, 2], "b": {"c": 3', brackets=True)
    assert (done.how, done.depth, done.brackets, done.opened) == ("end", 2, "{{", -1)
