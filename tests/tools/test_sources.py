"""The one --tools grammar (tools/sources.py): built-in names, Python files and modules with @tool
functions, OpenAI tools JSON files; and a one-line error for every tool nothing could use."""

from __future__ import annotations

import json

import pytest

from tooltune.errors import TooltuneError
from tooltune.tools.sources import load_tools

PY_TOOLS = '''
from typing import Literal
from tooltune import tool

@tool
def book_room(room: str, hours: int = 1, kind: Literal["quiet", "meeting"] = "meeting") -> str:
    """Book a room in the office.

    Args:
        room: The room's name, e.g. 'Aurora'.
        hours: How long, in hours.
        kind: What sort of room.
    """
    return f"booked {room} for {hours} h"

def helper():  # not a tool
    return 1
'''


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_python_file_gives_its_tools_callable(tmp_path):
    reg = load_tools([_write(tmp_path, "office.py", PY_TOOLS)])
    assert reg.names == ["book_room"]
    t = reg.get("book_room")
    assert t.description == "Book a room in the office."
    assert t.parameters["required"] == ["room"]
    assert t.parameters["properties"]["kind"]["enum"] == ["quiet", "meeting"]
    assert t.invoke({"room": "Aurora", "hours": 2}).output == "booked Aurora for 2 h"


def test_json_builtins_and_files_combine(tmp_path):
    spec = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                                             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
    reg = load_tools(["calculator,current_time", _write(tmp_path, "t.json", json.dumps({"tools": [spec]})), _write(tmp_path, "o.py", PY_TOOLS)])
    assert reg.names == ["calculator", "current_time", "get_weather", "book_room"]
    assert reg.get("get_weather").func is None  # a schema only: synthesis simulates its results
    assert load_tools(["builtins"]).names == ["calculator", "current_time", "web_search"]


@pytest.mark.parametrize("source, text, message", [
    ("bad.py", "def broken(:\n", "bad.py: line 1: invalid syntax"),
    ("boom.py", "raise RuntimeError('no database')\n", "importing it failed with RuntimeError: no database"),
    ("none.py", "x = 1\n", "defines no tools; decorate functions with @tooltune.tool"),
    ("bad.json", "[{", "not valid JSON"),
    ("noname.json", '[{"type": "function", "function": {"description": "x"}}]', "tool #1: tool spec without a 'name'"),
])
def test_a_source_that_cannot_load_is_one_line(tmp_path, source, text, message):
    with pytest.raises(TooltuneError) as err:
        load_tools([_write(tmp_path, source, text)])
    assert message in str(err.value) and "\n" not in str(err.value)


def _spec(name, description="Does a thing.", parameters=None):
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": parameters or {"type": "object", "properties": {}}}}


@pytest.mark.parametrize("specs, message", [
    ([_spec("a"), _spec("a")], "tool 'a' is defined twice: rename one of them"),
    ([_spec("a", description="")], "tool 'a' has no description"),
    ([_spec("a", parameters={"type": "object", "properties": {"x": {"type": "strng"}}})], "tool 'a': invalid JSON Schema at properties/x/type"),
    ([_spec("a", parameters={"type": "array"})], "tool 'a': parameters must be a JSON Schema of type object"),
    ([_spec("a b")], "tool 'a b': a name may hold only letters, digits"),
])
def test_tools_nothing_could_use_are_refused_by_name(tmp_path, specs, message):
    with pytest.raises(TooltuneError) as err:
        load_tools([_write(tmp_path, "t.json", json.dumps(specs))])
    assert message in str(err.value)


def test_unknown_names_say_what_is_offered():
    with pytest.raises(TooltuneError) as err:
        load_tools(["calculator,teleport"])
    assert str(err.value).startswith("--tools calculator,teleport: teleport is not a built-in tool (calculator, current_time, web_search)")
    with pytest.raises(TooltuneError, match="no tools given"):
        load_tools([""])


def test_an_mcp_config_file_adds_its_servers_tools(tmp_path):
    import sys

    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"time": {"command": sys.executable, "args": ["-m", "mcp_server_time", "--local-timezone", "UTC"]}}}),
                      encoding="utf-8")
    reg = load_tools(["calculator"], mcp_config=str(config))
    assert reg.names == ["calculator", "get_current_time", "convert_time"]
    assert json.loads(reg.get("get_current_time").invoke({"timezone": "Asia/Tokyo"}).output)["timezone"] == "Asia/Tokyo"
