"""Grammars that keep a model's tool calls inside the offered tools and their JSON Schemas.

A small model's commonest call mistakes — a tool name nobody offered, an enum value in the
question's language, a string where an array belongs, an unknown or a missing key — are tokens a
decoder can simply refuse. `ToolConstraint` (carried on a `GenerationRequest`) says which tools a
completion may call and in which format; `lark()` writes the grammar that llguidance (the
backends' mask, `tooltune.llm.constrain`) enforces:

- *lazy*: text is free until the format's call opener (`<tool_call>`, `Action:`) appears, as in
  llama.cpp's lazy grammars; from there the call must name an offered tool and its arguments must
  satisfy that tool's schema (types, enums, required keys, nested objects and arrays; no key the
  schema does not allow — an object without `additionalProperties` gets `false`); after the
  call's end the text is free again, so parallel calls and text after them are allowed;
- `choice="required"`: the completion starts with a call (the server's `tool_choice: required`,
  or a named function when `tools` holds just that one); `choice="none"`: the opener can never
  be written.

The call layout is the one the formats render for training (`json_layout`,
`react_layout.step_segments`): `json.dumps` separators, arguments in schema order. Covered: the
json format, react (en and zh: both write `Action:`; the full-width and Chinese keywords the
parser reads also open a call), and native for the hermes family (Qwen2.5/Qwen3 `<tool_call>`).
Native families with other syntaxes (mistral, llama3, qwen3_xml, glm, kimi, deepseek, gpt-oss,
gemma) get no constraint: `constraint_for` returns None.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from tooltune.formats import json_layout, react_layout
from tooltune.formats.base import PromptFormat
from tooltune.toolspec import tool_name, tool_names, tool_params

# json.dumps' own layout, so a constrained call is byte for byte what training rendered; no
# free whitespace also means a model cannot loop on blank lines inside a call.
JSON_LAYOUT = {"whitespace_flexible": False, "item_separator": json_layout.ITEM_SEPARATOR,
               "key_separator": json_layout.KEY_SEPARATOR, "lenient": True}

Choice = Literal["auto", "required", "none"]


@dataclass(frozen=True)
class CallSyntax:
    """How one format opens, lays out and closes a call."""

    name: str
    openers: tuple[str, ...]  # the first is the one a forced call writes
    json_call: bool  # {"name": …, "arguments": …} after the opener (else `Action:` layout)


JSON_SYNTAX = CallSyntax("json", (json_layout.CALL_OPEN,), json_call=True)
REACT_SYNTAX = CallSyntax("react", react_layout.CALL_OPENERS, json_call=False)
SYNTAXES = {s.name: s for s in (JSON_SYNTAX, REACT_SYNTAX)}


def syntax_for(fmt: PromptFormat) -> CallSyntax | None:
    """The call syntax of a format, or None where calls are not constrained (see module doc)."""
    return SYNTAXES[fmt.call_syntax] if fmt.call_syntax else None


@dataclass
class ToolConstraint:
    """What a completion may call, in which syntax. `prefix` is text the prompt already ends with
    (a server's prefilled call opening) that the grammar reads before the model's first token."""

    syntax: str
    tools: list[dict[str, Any]] = field(default_factory=list)
    choice: Choice = "auto"
    prefix: str = ""

    def lark(self) -> str:
        """The llguidance (Lark) grammar for this constraint."""
        syntax = SYNTAXES[self.syntax]
        opener = " | ".join(_lit(o) for o in syntax.openers)
        lines = ["TEXT: /(?s:.*)/", f"OPEN: {opener}"]
        if self.choice == "none":
            words = "|".join(_regex_escape(o) for o in syntax.openers)
            return "\n".join(["start: FREE", f"FREE: /(?s:.*)/ & ~/(?s:.*)({words})(?s:.*)/"])
        first = f"{_lit(syntax.openers[0])} call " if self.choice == "required" else ""
        lines += [f"start: {first}(head call)* TEXT", "head[lazy]: TEXT OPEN"]
        bodies = [_json_body(t) if syntax.json_call else _react_body(t) for t in self._specs()]
        alternatives = " | ".join(f"tool{i}" for i in range(len(bodies)))
        if syntax.json_call:
            head = json_layout.CALL_HEAD.removeprefix(json_layout.CALL_OPEN)  # the opener is OPEN's
            lines.append(f"call: {_lit(head)} ({alternatives}) {_lit(json_layout.CALL_TAIL)}")
        else:
            lines.append(f'call: " " ({alternatives}) "\\n"')
        lines += [f"tool{i}: {body}" for i, body in enumerate(bodies)]
        return "\n".join(lines)

    def _specs(self) -> list[tuple[str, dict[str, Any]]]:
        return [(name, strict_schema(tool_params(self.tools, name))) for name in tool_names(self.tools) if name]


def constraint_for(
    fmt: PromptFormat, tools: list[dict[str, Any]], choice: Choice | str = "auto", name: str | None = None, prefix: str = "",
) -> ToolConstraint | None:
    """The constraint for a request in `fmt` offering `tools`; `choice` as in OpenAI's
    `tool_choice` ("function" with `name` forces that one tool). None where nothing applies:
    a format with no covered syntax, or no tools to call (and calls not forbidden)."""
    syntax = syntax_for(fmt)
    if syntax is None:
        return None
    if choice == "function":
        tools, choice = [t for t in tools if tool_name(t) == name], "required"
    if choice != "none" and not any(tool_names(tools)):
        return None
    return ToolConstraint(syntax.name, list(tools), choice if choice in ("auto", "required", "none") else "auto", prefix)  # type: ignore[arg-type]


def strict_schema(params: dict[str, Any]) -> dict[str, Any]:
    """A tool's parameters as the grammar enforces them: an object (an empty one when the tool
    has no parameters), and no key an object's schema does not name unless it says otherwise —
    JSON Schema's own default allows any key, which is the invented-parameter mistake."""
    schema = copy.deepcopy(params) if isinstance(params, dict) and params else {"type": "object", "properties": {}}
    schema.setdefault("type", "object")
    _close_objects(schema)
    return schema


def _close_objects(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _close_objects(item)
        return
    if not isinstance(node, dict):
        return
    if "properties" in node and "additionalProperties" not in node and "patternProperties" not in node:
        node["additionalProperties"] = False
    for key in ("properties", "$defs", "definitions"):
        if isinstance(node.get(key), dict):
            for sub in node[key].values():
                _close_objects(sub)
    for key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties", "prefixItems"):
        if key in node:
            _close_objects(node[key])


def _json_body(spec: tuple[str, dict[str, Any]]) -> str:
    name, schema = spec
    defs = {k: schema.pop(k) for k in ("$defs", "definitions") if k in schema}  # `#/$defs/…` refs resolve at the root
    call = {
        "type": "object", "properties": {"name": {"const": name}, "arguments": schema},
        "required": ["name", "arguments"], "additionalProperties": False, "x-guidance": JSON_LAYOUT, **defs,
    }
    return "%json " + json.dumps(call, ensure_ascii=False)


def _react_body(spec: tuple[str, dict[str, Any]]) -> str:
    name, schema = spec
    return f'{_lit(name)} {_lit(chr(10) + react_layout.ACTION_INPUT + " ")} %json ' + json.dumps({**schema, "x-guidance": JSON_LAYOUT}, ensure_ascii=False)


def _lit(text: str) -> str:
    """A Lark string literal."""
    return json.dumps(text, ensure_ascii=False)


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in r"\.^$|?*+()[]{}/" else c for c in text)
