"""Tools: schema from signatures and docstrings, validation as observations, failures contained."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tooltune.errors import TooltuneError
from tooltune.tools import Tool, ToolRegistry, builtin_registry, tool


def get_weather(city: str, days: int = 1, unit: str = "celsius", detailed: bool = False) -> str:
    """Get the weather forecast for a city.

    Args:
        city: The city name, e.g. "Paris".
        days: How many days ahead (1-7).
        unit: celsius or fahrenheit.
        detailed: Whether to include hourly data.
    """
    return f"{city}: sunny for {days} day(s) in {unit}"


def test_schema_from_signature_and_docstring():
    t = Tool.from_function(get_weather)
    assert t.name == "get_weather" and t.description == "Get the weather forecast for a city."
    props = t.parameters["properties"]
    assert props["city"] == {"type": "string", "description": 'The city name, e.g. "Paris".'}
    assert props["days"]["type"] == "integer" and props["days"]["default"] == 1
    assert props["detailed"]["type"] == "boolean"
    assert t.parameters["required"] == ["city"]
    assert "title" not in t.parameters and "title" not in props["city"]


def test_decorator_and_openai_round_trip():
    @tool(name="add")
    def add_numbers(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    spec = add_numbers.to_openai()
    assert spec["function"]["name"] == "add"
    again = Tool.from_openai(spec, func=lambda a, b: a + b)
    assert again.parameters == add_numbers.parameters and again.invoke({"a": 1, "b": 2}).output == "3"


def test_arguments_are_validated_and_violations_become_observations():
    t = Tool.from_function(get_weather)
    missing = t.invoke({})
    assert missing.is_error and "'city' is a required property" in missing.output
    wrong_type = t.invoke({"city": "Paris", "days": "three"})
    assert wrong_type.is_error and "days" in wrong_type.output and "integer" in wrong_type.output
    ok = t.invoke({"city": "Paris", "days": 2})
    assert not ok.is_error and ok.output == "Paris: sunny for 2 day(s) in celsius"


def test_exceptions_and_timeouts_become_observations():
    def boom(x: int) -> int:
        """Fails."""
        raise RuntimeError("disk on fire")

    def slow() -> str:
        """Sleeps."""
        time.sleep(2)
        return "late"

    assert Tool.from_function(boom).invoke({"x": 1}).output == "error: RuntimeError: disk on fire"
    slow_tool = Tool.from_function(slow)
    slow_tool.timeout_s = 0.1
    result = slow_tool.invoke({})
    assert result.is_error and "timed out" in result.output


def test_registry_lookup_and_selection():
    registry = builtin_registry()
    assert registry.names == ["calculator", "current_time", "web_search"]
    assert registry.select(["calculator"]).names == ["calculator"]
    with pytest.raises(TooltuneError, match="unknown tool 'nope'"):
        registry.select(["nope"])
    assert len(ToolRegistry.from_openai(registry.to_openai())) == 3


def test_current_time_and_bad_zone():
    t = builtin_registry().get("current_time")
    assert t.invoke({"timezone": "Asia/Shanghai"}).output.count("-") >= 2
    bad = t.invoke({"timezone": "Mars/Olympus"})
    assert bad.is_error and "unknown time zone" in bad.output


def test_inline_tools_run_in_the_callers_thread_and_still_contain_failures():
    import threading

    def where() -> str:
        """Names the thread it runs in."""
        return str(threading.get_ident())

    def boom() -> str:
        """Fails."""
        raise ValueError("bad input")

    pooled, inline, failing = Tool.from_function(where), Tool.from_function(where), Tool.from_function(boom)
    inline.inline = failing.inline = True
    here = str(threading.get_ident())
    assert pooled.invoke({}).output != here  # the default: a pool thread, so a timeout can be enforced
    assert inline.invoke({}).output == here
    assert failing.invoke({}).output == "error: ValueError: bad input" and failing.invoke({}).is_error
    calculator = builtin_registry().get("calculator")
    assert calculator.inline and not builtin_registry().get("web_search").inline
    assert calculator.invoke({}).output.startswith("invalid arguments for calculator: arguments: 'expression' is a required property")


# -- validation verdicts remembered per argument shape (Tool.validate) ---------------------------
SCHEMAS = {
    "shape-only": {"type": "object", "properties": {"n": {"type": "integer", "description": "d"}, "x": {"type": "number"},
                   "s": {"type": "string"}, "b": {"type": ["boolean", "null"]}, "l": {"type": "array"}},
                   "required": ["n"], "additionalProperties": False},
    "values matter": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}, "s": {"type": "string", "enum": ["a", "b"]},
                      "l": {"type": "array", "items": {"type": "integer"}}}},
}
VALUES_BY_TYPE = {
    "int": st.integers(-2, 2), "float": st.sampled_from([2.0, 2.5, -1.0, 0.5]), "str": st.sampled_from(["a", "b", "z"]),
    "bool": st.booleans(), "none": st.none(), "list": st.lists(st.integers(-1, 1) | st.just("a"), max_size=2),
    "dict": st.dictionaries(st.just("k"), st.integers(-1, 1), max_size=1),
}


@st.composite
def same_shape_calls(draw):
    """Several argument dicts with the same keys and value types but different values: exactly
    what a remembered verdict could wrongly be reused for."""
    keys = draw(st.lists(st.sampled_from(["n", "x", "s", "b", "l", "extra"]), unique=True, max_size=3))
    types = {k: draw(st.sampled_from(sorted(VALUES_BY_TYPE))) for k in keys}
    values = st.tuples(*[VALUES_BY_TYPE[types[k]] for k in keys])
    return [dict(zip(keys, row)) for row in draw(st.lists(values, min_size=2, max_size=8))]  # keys in one order


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(sorted(SCHEMAS)), calls=same_shape_calls())
def test_remembered_verdicts_always_agree_with_jsonschema(name, calls):
    """One tool validates a sequence of arguments (so remembered shapes are reused); every verdict
    and message is jsonschema's own."""
    schema = SCHEMAS[name]
    fresh = Tool("t", "d", schema, func=lambda **kw: "ok")
    for arguments in calls:
        expected = Tool("t", "d", schema, func=lambda **kw: "ok").validate(arguments)  # a new tool: nothing remembered
        assert fresh.validate(arguments) == expected


def test_a_remembered_shape_never_hides_a_bad_value():
    shape_only = Tool("t", "d", SCHEMAS["shape-only"], func=lambda **kw: "ok")
    assert shape_only.validate({"n": 2}) is None and shape_only.validate({"n": 2.0}) is None  # 2.0 is an integer to JSON Schema
    assert shape_only.validate({"n": 2.5}) == "invalid arguments for t: n: 2.5 is not of type 'integer'"
    assert shape_only.validate({"n": True}) == "invalid arguments for t: n: True is not of type 'integer'"
    assert len(shape_only._valid_shapes()) == 2
    values = Tool("t", "d", SCHEMAS["values matter"], func=lambda **kw: "ok")
    assert values._valid_shapes() is None  # minimum / enum / items read the values: always asks jsonschema
    assert values.validate({"n": 1}) is None
    assert values.validate({"n": -1}) == "invalid arguments for t: n: -1 is less than the minimum of 0"
