"""`Tool`: a name, a description, JSON-Schema parameters and a callable.

A tool is built from a typed, documented Python function (the schema comes from the type hints,
the descriptions from the docstring) or from an OpenAI-style tool dict. Calling a tool never
raises: bad arguments, exceptions and timeouts become a `ToolResult` with `is_error=True` whose
text tells the model what went wrong, so the agent loop can feed it back and go on.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import docstring_parser
import jsonschema
import pydantic

from tooltune.errors import TooltuneError
from tooltune.toolspec import has_name, make_spec, no_parameters, tool_description, tool_extra, tool_name, tool_parameters

DEFAULT_TIMEOUT_S = 30.0
# One shared pool: a timed-out call keeps its thread until it returns (Python cannot kill
# threads), so a small pool bounds how many runaway tools can pile up.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="tooltune-tool")


@dataclass
class ToolResult:
    """What a tool call produced, as text for the model."""

    name: str
    output: str
    is_error: bool = False
    call_id: str | None = None


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=no_parameters)
    func: Callable[..., Any] | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    # Freshness of a remembered result (agent.memory): `time_sensitive` results (the time, a share
    # price, today's weather) are never reused; otherwise a result is reused for `ttl` seconds,
    # or forever when `ttl` is None (last year's census figures). Not part of the prompt.
    ttl: float | None = None
    time_sensitive: bool = False
    # A function that always returns at once (pure, bounded computation: the calculator) runs in
    # the caller's thread: the hop to the pool and back costs more than such a call, and its
    # timeout is never needed. Leave it False for anything that waits (I/O) or may run long.
    inline: bool = False
    # The call changes something outside the process (a commit, a write, a sent message), so a
    # caller may hold it back until the user allows it (MCP tools: see tools.mcp). Not part of
    # the prompt.
    changes_state: bool = False

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_function(cls, func: Callable[..., Any], name: str | None = None, description: str | None = None) -> Tool:
        """Derive the JSON Schema from the signature and the docstring's parameter section."""
        doc = docstring_parser.parse(inspect.getdoc(func) or "")
        param_docs = {p.arg_name: p.description for p in doc.params}
        fields: dict[str, Any] = {}
        for pname, param in inspect.signature(func).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            annotation = param.annotation if param.annotation is not inspect.Parameter.empty else str
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[pname] = (annotation, pydantic.Field(default, description=param_docs.get(pname)))
        model = pydantic.create_model(f"{func.__name__}_args", **fields)
        schema = _strip_titles(model.model_json_schema())
        schema.setdefault("properties", {})
        desc = description or " ".join(filter(None, [doc.short_description, doc.long_description])) or func.__name__
        return cls(name=name or func.__name__, description=desc, parameters=schema, func=func)

    @classmethod
    def from_openai(cls, spec: dict[str, Any], func: Callable[..., Any] | None = None) -> Tool:
        """Accept {"type": "function", "function": {...}} or the bare function dict."""
        if not has_name(spec):
            raise TooltuneError(f"tool spec without a 'name': {json.dumps(spec)[:80]}")
        name = tool_name(spec)
        ttl = tool_extra(spec, "ttl")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl < 0):
            raise TooltuneError(f"tool {name}: 'ttl' must be a number of seconds >= 0, got {ttl!r}")
        sensitive = bool(tool_extra(spec, "time_sensitive", False))
        return cls(name=name, description=tool_description(spec), parameters=tool_parameters(spec), func=func, ttl=ttl, time_sensitive=sensitive)

    def to_openai(self) -> dict[str, Any]:
        return make_spec(self.name, self.description, self.parameters)

    @property
    def required(self) -> list[str]:
        return list(self.parameters.get("required", []))

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self.parameters.get("properties", {}))

    # -- use ----------------------------------------------------------------------------------
    def _validator(self) -> Any:
        """A checked validator, built once per schema: `jsonschema.validate` re-checks the schema
        itself on every call, which was most of the agent's per-step cost. Rebuilt if the
        `parameters` dict is replaced."""
        cached = self.__dict__.get("_cached_validator")
        if cached is None or cached[0] is not self.parameters:
            cls = jsonschema.validators.validator_for(self.parameters)
            cls.check_schema(self.parameters)
            cached = (self.parameters, cls(self.parameters))
            self.__dict__["_cached_validator"] = cached
        return cached[1]

    def validate(self, arguments: dict[str, Any]) -> str | None:
        """Return a message for the model if the arguments break the schema, else None.

        jsonschema stays the judge, but running it was the largest fixed cost of an agent step.
        When the schema can only look at which keys are present and each value's JSON type
        (`_shape_only`), its verdict on arguments of a shape already found valid is known."""
        shapes = self._valid_shapes()
        shape = _shape(arguments) if shapes is not None and isinstance(arguments, dict) else None
        if shapes is not None and shape in shapes:
            return None
        try:
            error = jsonschema.exceptions.best_match(self._validator().iter_errors(arguments))
            if error is not None:
                raise error
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "arguments"
            return f"invalid arguments for {self.name}: {where}: {exc.message}"
        if shapes is not None and shape is not None:
            if len(shapes) >= MAX_VALID_SHAPES:
                shapes.clear()
            shapes.add(shape)
        return None

    def _valid_shapes(self) -> set[tuple[Any, ...]] | None:
        """The argument shapes found valid, or None when the schema is not shape-only. Reset,
        like the validator, when the `parameters` dict is replaced."""
        cached = self.__dict__.get("_cached_shapes")
        if cached is None or cached[0] is not self.parameters:
            cached = (self.parameters, set() if _shape_only(self.parameters) else None)
            self.__dict__["_cached_shapes"] = cached
        return cached[1]

    def invoke(self, arguments: dict[str, Any], call_id: str | None = None) -> ToolResult:
        if self.func is None:
            return ToolResult(self.name, f"tool {self.name} has no implementation here", True, call_id)
        problem = self.validate(arguments)
        if problem:
            return ToolResult(self.name, problem + f". Expected parameters: {json.dumps(self.parameters, ensure_ascii=False)}", True, call_id)
        try:
            if self.inline:
                value = self.func(**arguments)
            else:
                value = _POOL.submit(self.func, **arguments).result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            return ToolResult(self.name, f"error: {self.name} timed out after {self.timeout_s:g}s", True, call_id)
        except Exception as exc:  # a tool's bug is an observation, never a crash of the loop
            return ToolResult(self.name, f"error: {type(exc).__name__}: {exc}", True, call_id)
        if isinstance(value, ToolResult):  # a function that judges its own outcome (an MCP isError)
            return ToolResult(self.name, value.output, value.is_error, call_id)
        return ToolResult(self.name, _as_text(value), False, call_id)


def tool(func: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None) -> Any:
    """Decorator: `@tool` or `@tool(name=...)` turns a documented function into a `Tool`."""
    if func is None:
        return lambda f: Tool.from_function(f, name=name, description=description)
    return Tool.from_function(func, name=name, description=description)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:
        return str(value)


# Keywords that never reject anything, and the keywords of a schema whose verdict on an arguments
# object depends only on its keys and on each value's JSON type.
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment", "deprecated", "readOnly", "writeOnly"})
_SHAPE_KEYWORDS = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties"}
MAX_VALID_SHAPES = 256


def _shape_only(schema: Any) -> bool:
    """An object schema with `properties` whose subschemas hold only `type` (+ annotations),
    `required`, and a boolean `additionalProperties`: nothing that reads a value beyond its type."""
    if not isinstance(schema, dict) or not set(schema) <= _SHAPE_KEYWORDS or schema.get("type", "object") != "object":
        return False
    props = schema.get("properties", {})
    return (
        isinstance(schema.get("additionalProperties", True), bool) and isinstance(props, dict)
        and all(isinstance(p, dict) and set(p) <= _ANNOTATIONS | {"type"} for p in props.values())
    )


def _shape(arguments: dict[str, Any]) -> tuple[Any, ...]:
    """Keys in order, each value's Python type, and for a float whether it is whole (JSON Schema
    counts 2.0 as an integer): everything a shape-only schema can look at."""
    return tuple((k, type(v), v.is_integer() if type(v) is float else None) for k, v in arguments.items())


def _strip_titles(schema: Any) -> Any:
    """pydantic adds a `title` to everything; tool prompts are shorter and clearer without."""
    if isinstance(schema, dict):
        return {k: _strip_titles(v) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema
