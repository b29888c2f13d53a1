"""The OpenAI tool spec, read in one place.

A tool spec comes as OpenAI JSON, `{"type": "function", "function": {"name", "description",
"parameters"}}`, or as the bare function dict (ShareGPT / Glaive / BFCL data, hand-written
specs); a tool call likewise wraps `{"name", "arguments"}` in `"function"`. These accessors are
the only code that knows about that wrapper, so everything else asks for a name, a description
or the parameters without caring which form came in. Specs stay plain dicts because they are
JSON at both edges (samples on disk, the server's requests) and are hashed and stored as such;
`tooltune.tools.Tool` is the runnable value built from one. This module imports nothing of
tooltune, so every layer (messages, formats, tools, data, eval) can use it.
"""

from __future__ import annotations

from typing import Any

ToolSpec = dict[str, Any]


def function_of(obj: dict[str, Any]) -> Any:
    """The inner function dict of an OpenAI-wrapped tool spec or tool call, or `obj` itself when
    it comes bare. The value is returned as found (callers that take untrusted JSON check it)."""
    return obj.get("function", obj)


def tool_name(spec: ToolSpec) -> str:
    """The tool's name ("" when the spec has none)."""
    return function_of(spec).get("name", "")


def tool_description(spec: ToolSpec) -> str:
    return function_of(spec).get("description", "")


def tool_parameters(spec: ToolSpec) -> dict[str, Any]:
    """The JSON Schema of the tool's arguments ({} when the spec has none)."""
    return function_of(spec).get("parameters") or {}


def tool_names(tools: list[ToolSpec]) -> list[str]:
    return [tool_name(spec) for spec in tools]


def tool_params(tools: list[ToolSpec], name: str) -> dict[str, Any]:
    """The parameters schema of the tool called `name` among `tools` ({} when none is)."""
    for spec in tools:
        if tool_name(spec) == name:
            return tool_parameters(spec)
    return {}
