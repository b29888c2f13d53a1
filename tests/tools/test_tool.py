"""Tools: schema from signatures and docstrings, validation as observations, failures contained."""

import time

import pytest

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
