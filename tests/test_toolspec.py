"""The tool spec's accessors read the OpenAI-wrapped and the bare form alike."""

from tooltune.toolspec import (
    function_of, has_name, make_spec, no_parameters, tool_description, tool_extra, tool_name, tool_names, tool_parameters, tool_params,
    tools_key, wrapped,
)

PARAMS = {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}
WRAPPED = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic.", "parameters": PARAMS}}
BARE = {"name": "current_time", "description": "The time now."}


def test_wrapped_and_bare_specs_read_the_same_way():
    assert function_of(WRAPPED) is WRAPPED["function"] and function_of(BARE) is BARE
    assert (tool_name(WRAPPED), tool_description(WRAPPED), tool_parameters(WRAPPED)) == ("calculator", "Evaluate arithmetic.", PARAMS)
    empty = {"type": "object", "properties": {}}  # the one reading of "no parameters"
    assert (tool_name(BARE), tool_description(BARE), tool_parameters(BARE)) == ("current_time", "The time now.", empty)
    assert (tool_name({}), tool_description({}), tool_parameters({"parameters": None})) == ("", "", empty)
    assert no_parameters() == empty and no_parameters() is not no_parameters()


def test_names_and_parameters_by_name():
    assert tool_names([WRAPPED, BARE, {}]) == ["calculator", "current_time", ""]
    assert tool_params([BARE, WRAPPED], "calculator") == PARAMS
    assert tool_params([WRAPPED], "web_search") == {}


def test_a_tool_call_unwraps_like_a_spec():
    call = {"id": "c1", "type": "function", "function": {"name": "calculator", "arguments": "{\"expression\": \"1+1\"}"}}
    assert function_of(call) == {"name": "calculator", "arguments": "{\"expression\": \"1+1\"}"}


def test_every_reader_takes_the_same_default_for_missing_parameters():
    from tooltune.data.convert import wrap_tool
    from tooltune.tools import Tool

    assert wrap_tool(BARE)["function"]["parameters"] == tool_parameters(BARE) == Tool.from_openai(BARE).parameters == no_parameters()
    assert make_spec("f") == {"type": "function", "function": {"name": "f", "description": "", "parameters": no_parameters()}}


def test_names_extras_and_rewrapping():
    assert [has_name(x) for x in (WRAPPED, BARE, {}, {"function": "x"}, {"name": 3}, [])] == [True, True, False, False, False, False]
    assert tool_extra({"name": "f", "ttl": 5}, "ttl") == 5 and tool_extra({"type": "function", "function": {"name": "f"}, "ttl": 7}, "ttl") == 7
    assert tool_extra(BARE, "time_sensitive", False) is False
    assert wrapped(BARE) == {"type": "function", "function": BARE} and wrapped(WRAPPED, name="calc")["function"]["name"] == "calc"
    assert WRAPPED["function"]["name"] == "calculator"  # the original is never changed


def test_tools_key_is_the_content():
    reordered = {"function": {"parameters": PARAMS, "description": "Evaluate arithmetic.", "name": "calculator"}, "type": "function"}
    assert tools_key([WRAPPED]) == tools_key([reordered]) != tools_key([BARE])
