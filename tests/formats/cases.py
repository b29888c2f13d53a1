"""Completions real models emit, one per parser tolerance, with the parse each must give.

Shared by the parser unit tests and the `tooltune parse --jsonl` CLI test.
"""

from tooltune.tools import builtin_registry
from tooltune.tools.tool import Tool

NO_PARAM_TOOL = Tool("list_files", "List the files.", {"type": "object", "properties": {}}).to_openai()
TWO_PARAM_TOOL = Tool(
    "get_weather", "Weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city"]},
).to_openai()
TOOLS = builtin_registry().to_openai() + [NO_PARAM_TOOL, TWO_PARAM_TOOL]


def call(name, **arguments):
    return {"kind": "tool_calls", "calls": [{"name": name, "arguments": arguments}]}


def cut_off(*what):
    return {"kind": "invalid", "error": f"{what[0]} (a truncated call, not run)", "truncated": list(what)}


def final(content):
    return {"kind": "final", "content": content}


# (id, format, completion, expected parse)
CASES = [
    ("react_plain", "react", 'Thought: I need math.\nAction: calculator\nAction Input: {"expression": "2+3"}', call("calculator", expression="2+3")),
    ("fullwidth_colon", "react", 'Thought： 需要计算\nAction： calculator\nAction Input： {"expression": "2+3"}', call("calculator", expression="2+3")),
    ("fullwidth_quotes", "react", "Action: calculator\nAction Input: {“expression”： “2+3”}", call("calculator", expression="2+3")),
    ("keyword_case", "react", 'THOUGHT: hm\nACTION: calculator\naction input: {"expression": "1"}', call("calculator", expression="1")),
    ("name_brackets", "react", 'Action: [calculator]\nAction Input: {"expression": "1"}', call("calculator", expression="1")),
    ("name_backticks", "react", 'Action: `web_search`\nAction Input: {"query": "Paris"}', call("web_search", query="Paris")),
    ("name_wrong_case", "react", 'Action: Calculator\nAction Input: {"expression": "1"}', call("calculator", expression="1")),
    ("json_code_fence", "react", 'Action: calculator\nAction Input: ```json\n{"expression": "7*6"}\n```', call("calculator", expression="7*6")),
    ("python_literal", "react", "Action: get_weather\nAction Input: {'city': 'Paris', 'unit': None, 'days': 3}", call("get_weather", city="Paris", unit=None, days=3)),
    ("python_true", "react", "Action: get_weather\nAction Input: {'city': 'Oslo', 'unit': True}", call("get_weather", city="Oslo", unit=True)),
    ("trailing_comma", "react", 'Action: get_weather\nAction Input: {"city": "Rome", "days": 2,}', call("get_weather", city="Rome", days=2)),
    ("crlf", "react", 'Thought: x\r\nAction: calculator\r\nAction Input: {"expression": "9"}\r\n', call("calculator", expression="9")),
    ("text_after_json", "react", 'Action: calculator\nAction Input: {"expression": "9"} I will now wait for the result.', call("calculator", expression="9")),
    ("hallucinated_observation", "react",
     'Action: calculator\nAction Input: {"expression": "2+2"}\nObservation: 5\nThought: done\nAction: web_search\nAction Input: {"query": "x"}\nFinal Answer: 5',
     call("calculator", expression="2+2")),
    ("final_answer", "react", "Thought: I know it.\nFinal Answer: Paris is the capital.", final("Paris is the capital.")),
    ("final_answer_fullwidth", "react", "Thought: 我知道了\nFinal Answer：北京是首都。", final("北京是首都。")),
    ("final_answer_case", "react", "final answer: 42<|im_end|>", final("42")),
    ("bare_string_one_param", "react", "Action: calculator\nAction Input: 23 * 47 + 12", call("calculator", expression="23 * 47 + 12")),
    ("quoted_bare_string", "react", 'Action: web_search\nAction Input: "capital of France"', call("web_search", query="capital of France")),
    ("no_input_no_params", "react", "Thought: let me look\nAction: list_files", call("list_files")),
    ("double_encoded_react", "react", 'Action: calculator\nAction Input: "{\\"expression\\": \\"5-1\\"}"', call("calculator", expression="5-1")),
    ("call_syntax", "react", 'Action: calculator(expression="3*3")', call("calculator", expression="3*3")),
    ("markdown_bold_keywords", "react", '**Thought:** x\n**Action:** calculator\n**Action Input:** {"expression": "1+1"}', call("calculator", expression="1+1")),
    ("json_block", "json", '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2*8"}}\n</tool_call>', call("calculator", expression="2*8")),
    ("json_parallel", "json",
     '<tool_call>\n{"name": "calculator", "arguments": {"expression": "1"}}\n</tool_call>\n<tool_call>\n{"name": "current_time", "arguments": {"timezone": "UTC"}}\n</tool_call>',
     {"kind": "tool_calls", "calls": [{"name": "calculator", "arguments": {"expression": "1"}}, {"name": "current_time", "arguments": {"timezone": "UTC"}}]}),
    ("json_double_encoded", "json", '<tool_call>\n{"name": "calculator", "arguments": "{\\"expression\\": \\"4/2\\"}"}\n</tool_call>', call("calculator", expression="4/2")),
    # A block whose </tool_call> never came is a cut-off call (issue 35): reported, never repaired into a call.
    ("json_unclosed", "json", '<tool_call>\n{"name": "web_search", "arguments": {"query": "Everest height"}}', cut_off("web_search: the <tool_call> block is cut off before </tool_call>")),
    ("json_unclosed_truncated", "json", '<tool_call>\n{"name": "web_search", "arguments": {"query": "Everest', cut_off("web_search: the <tool_call> block is cut off before </tool_call>")),
    ("json_missing_brace_closed", "json", '<tool_call>\n{"name": "web_search", "arguments": {"query": "Everest"}\n</tool_call>', call("web_search", query="Everest")),
    ("json_fenced_untagged", "json", 'Let me compute.\n```json\n{"name": "calculator", "arguments": {"expression": "6*7"}}\n```', call("calculator", expression="6*7")),
    ("json_python_literal", "json", "<tool_call>\n{'name': 'get_weather', 'arguments': {'city': 'Paris', 'unit': None}}\n</tool_call>", call("get_weather", city="Paris", unit=None)),
    ("json_wrong_case_name", "json", '<tool_call>{"name": "CALCULATOR", "arguments": {"expression": "1"}}</tool_call>', call("calculator", expression="1")),
    ("json_final", "json", "The capital of France is Paris.", final("The capital of France is Paris.")),
    ("llama_parameters", "native", '{"name": "calculator", "parameters": {"expression": "8-3"}}', call("calculator", expression="8-3")),
]

# Completions that must come back as kind="invalid" (and never raise).
INVALID = [
    ("invented_tool", "react", 'Action: teleport\nAction Input: {"to": "Mars"}', "unknown tool"),
    ("missing_input", "react", "Action: calculator", "Action Input"),
    ("thought_only", "react", "Thought: I should think more.", "Thought"),
    ("empty", "react", "", "empty"),
    ("json_garbage", "json", "<tool_call>\n!!! nope\n</tool_call>", "tool_call"),
    ("json_invented_tool", "json", '<tool_call>{"name": "launch_rocket", "arguments": {}}</tool_call>', "unknown tool"),
]

CASES += [
    ("final_answer_no_space", "react", "Thought: ok\nFinalAnswer: 7", final("7")),
    ("action_input_underscore", "react", 'Action: calculator\nAction_Input: {"expression": "7"}', call("calculator", expression="7")),
]
