"""The OpenAI tool spec, read in one place.

A tool spec comes as OpenAI JSON, `{"type": "function", "function": {"name", "description",
"parameters"}}`, or as the bare function dict (ShareGPT / Glaive / BFCL data, hand-written
specs); a tool call likewise wraps `{"name", "arguments"}` in `"function"`. These accessors are
the only code that knows about that wrapper, so everything else asks for a name, a description
or the parameters without caring which form came in. Specs stay plain dicts because they are
JSON at both edges (samples on disk, the server's requests) and are hashed and stored as such;
`tooltune.tools.Tool` is the runnable value built from one. A spec without parameters takes none
(`no_parameters()`), for every reader alike. This module imports nothing of tooltune, so every
layer (messages, formats, tools, data, eval) can use it.
"""

from __future__ import annotations

import json
from typing import Any

ToolSpec = dict[str, Any]


def no_parameters() -> dict[str, Any]:
    """The schema of a tool that takes no arguments: what a spec without `parameters` (or with
    `parameters: null`) means, read the same way by every caller. A fresh dict each time, since
    callers build on it."""
    return {"type": "object", "properties": {}}


def function_of(obj: dict[str, Any]) -> Any:
    """The inner function dict of an OpenAI-wrapped tool spec or tool call, or `obj` itself when
    it comes bare. The value is returned as found (callers that take untrusted JSON check it)."""
    return obj.get("function", obj)


def has_name(spec: Any) -> bool:
    """Whether `spec` (untrusted JSON) is a tool spec or call, wrapped or bare, with a string
    name: the check made before the other accessors read it."""
    fn = function_of(spec) if isinstance(spec, dict) else None
    return isinstance(fn, dict) and isinstance(fn.get("name"), str)


def tool_name(spec: ToolSpec) -> str:
    """The tool's name ("" when the spec has none)."""
    return function_of(spec).get("name", "")


def tool_description(spec: ToolSpec) -> str:
    return function_of(spec).get("description", "")


def tool_parameters(spec: ToolSpec) -> dict[str, Any]:
    """The JSON Schema of the tool's arguments (`no_parameters()` when the spec has none)."""
    return function_of(spec).get("parameters") or no_parameters()


def tool_extra(spec: ToolSpec, key: str, default: Any = None) -> Any:
    """A field of tooltune's own beside the OpenAI ones (`ttl`, `time_sensitive`), written in the
    function dict or on the wrapper."""
    return function_of(spec).get(key, spec.get(key, default))


def wrapped(spec: ToolSpec, **changes: Any) -> ToolSpec:
    """The spec in the OpenAI form `{"type": "function", "function": {...}}`, with `changes`
    (name, description, parameters, ...) made to a copy of the function dict."""
    return {"type": "function", "function": {**function_of(spec), **changes}}


def make_spec(name: str, description: str = "", parameters: dict[str, Any] | None = None) -> ToolSpec:
    """A new spec in the OpenAI form, its parameters `no_parameters()` when none are given."""
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters or no_parameters()}}


def tools_key(tools: list[ToolSpec]) -> str:
    """The tool list as canonical JSON: equal lists give equal keys whatever their identity or key
    order, and a list changed in place gives a new one (caches key on it)."""
    return json.dumps(tools, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def tool_names(tools: list[ToolSpec]) -> list[str]:
    return [tool_name(spec) for spec in tools]


def tool_params(tools: list[ToolSpec], name: str) -> dict[str, Any]:
    """The parameters schema of the tool called `name` among `tools`; {} (any arguments: nothing
    is known of them) when no tool has that name."""
    for spec in tools:
        if tool_name(spec) == name:
            return tool_parameters(spec)
    return {}
