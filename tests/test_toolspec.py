"""The tool spec's accessors read the OpenAI-wrapped and the bare form alike."""

from tooltune.toolspec import function_of, tool_description, tool_name, tool_names, tool_parameters, tool_params

PARAMS = {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}
WRAPPED = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic.", "parameters": PARAMS}}
BARE = {"name": "current_time", "description": "The time now."}


def test_wrapped_and_bare_specs_read_the_same_way():
    assert function_of(WRAPPED) is WRAPPED["function"] and function_of(BARE) is BARE
    assert (tool_name(WRAPPED), tool_description(WRAPPED), tool_parameters(WRAPPED)) == ("calculator", "Evaluate arithmetic.", PARAMS)
    assert (tool_name(BARE), tool_description(BARE), tool_parameters(BARE)) == ("current_time", "The time now.", {})
    assert (tool_name({}), tool_description({}), tool_parameters({"parameters": None})) == ("", "", {})


def test_names_and_parameters_by_name():
    assert tool_names([WRAPPED, BARE, {}]) == ["calculator", "current_time", ""]
    assert tool_params([BARE, WRAPPED], "calculator") == PARAMS
    assert tool_params([WRAPPED], "web_search") == {}


def test_a_tool_call_unwraps_like_a_spec():
    call = {"id": "c1", "type": "function", "function": {"name": "calculator", "arguments": "{\"expression\": \"1+1\"}"}}
    assert function_of(call) == {"name": "calculator", "arguments": "{\"expression\": \"1+1\"}"}
