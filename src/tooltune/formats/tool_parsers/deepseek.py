"""DeepSeek calls, two syntaxes.

Special-token sections (V3, R1, V3.1), between `<｜tool▁calls▁begin｜>` and `<｜tool▁calls▁end｜>`:

    V3, R1:  <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\\n```json\\n{…}\\n```<｜tool▁call▁end｜>
    V3.1+:   <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{…}<｜tool▁call▁end｜>

DSML (V3.2, V4), often after plain text and after a `</think>` whose opening the template wrote:

    <｜DSML｜function_calls>                     (V4: <｜DSML｜tool_calls>; also seen: <｜DSML｜ calls>)
    <｜DSML｜invoke name="get_weather">
    <｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>
    <｜DSML｜parameter name="days" string="false">3</｜DSML｜parameter>
    </｜DSML｜invoke>
    </｜DSML｜function_calls>

`string="true"` values are raw text (typed by the schema when it asks for something else, as
vLLM does); `string="false"` values are JSON. An invoke may have no parameters; a block may hold
several invokes. The special tokens use full-width bars and `▁`; ASCII look-alikes are read too.
A call whose end marker never came (`<｜tool▁call▁end｜>`, `</｜DSML｜invoke>`) and a section or
block that never closed are reported as truncated, never run."""

from __future__ import annotations

import html
import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import ArgumentError, cut_off_report, loads_lenient, tool_params
from tooltune.formats.scan import find_blocks
from tooltune.formats.tool_parsers.common import ToolParser, decode_block, make_call, result, typed_value


def _token(words: str) -> str:
    return r"<[｜|]\s*" + r"[▁_ ]".join(words.split()) + r"\s*[｜|]>"


_SECTION = re.compile(_token("tool calls begin"))
_SECTION_END = re.compile(_token("tool calls end"))
_CALL = re.compile(_token("tool call begin"))
_CALL_END = _token("tool call end")
_SEP = re.compile(_token("tool sep"))
_END_OF_SENTENCE = re.compile(_token("end of sentence"))

_D = r"[｜|]\s*DSML\s*[｜|]"
_DSML_BLOCK = re.compile(rf"<{_D}\s*(?:\w+_)?\s*calls\s*>")
_DSML_BLOCK_END = re.compile(rf"</{_D}\s*(?:\w+_)?\s*calls\s*>")
_INVOKE = re.compile(rf'<{_D}\s*invoke\s+name\s*=\s*"([^"]*)"\s*>')
_INVOKE_END = rf"</{_D}\s*invoke\s*>"
_PARAM = re.compile(rf'<{_D}\s*parameter\s+name\s*=\s*"([^"]*)"(?:\s+string\s*=\s*"(\w*)")?\s*>')
_PARAM_END = rf"</{_D}\s*parameter\s*>"
# Inside an invoke, parameter values are strings: a marker written in a value is text.
_PARAM_VALUE = rf'<{_D}\s*parameter\b[^>]*>.*?{_PARAM_END}'
_WRAPPERS = ("arguments", "input")


def parse(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    text = _END_OF_SENTENCE.split(text)[0]
    dsml, section = _DSML_BLOCK.search(text), _SECTION.search(text)
    if dsml is not None and (section is None or dsml.start() < section.start()):
        return _dsml(text, dsml, tools)
    if section is None:
        return result([], text)
    return _sections(text, section, tools)


def _sections(text: str, section: re.Match[str], tools: list[dict[str, Any]]) -> Parsed:
    body_start = section.end()
    blocks = find_blocks(text[body_start:], _CALL, _CALL_END, f"{_CALL.pattern}|{_SECTION_END.pattern}")
    calls, truncated = [], []
    for block in blocks:
        sep = _SEP.search(block.body)
        name, args = (block.body[:sep.start()].strip(), block.body[sep.end():]) if sep else (block.body.strip(), "")
        if sep and name == "function" and "\n" in args.strip():  # V3/R1: type, then name + fenced JSON
            name, _, args = args.strip().partition("\n")
        if not block.closed:
            truncated.append(cut_off_report(name, "cut off before <｜tool▁call▁end｜>"))
            continue
        if not sep:
            return Parsed("invalid", error=f"a DeepSeek call without <｜tool▁sep｜>: {block.body.strip()[:40]!r}", truncated=truncated)
        calls.append(decode_block(name, args, tools))
    end = blocks[-1].end + body_start if blocks else body_start
    close = _SECTION_END.search(text, end)
    if close is None and not truncated:
        truncated.append("the tool-calls section is cut off before <｜tool▁calls▁end｜>")
    if not calls and not truncated:
        return result([], text[:section.start()] + text[close.end():] if close else text[:section.start()])
    return result(calls, text[:section.start()] + (text[close.end():] if close else ""), truncated)


def _dsml(text: str, block: re.Match[str], tools: list[dict[str, Any]]) -> Parsed:
    """One DSML block: every invoke in it, values found outside each other's text."""
    inside = text[block.end():]
    invokes = find_blocks(inside, _INVOKE, _INVOKE_END, f"{_INVOKE.pattern}|{_DSML_BLOCK_END.pattern}",
                          complete=lambda body: True, strings=_PARAM_VALUE, openers=rf"<{_D}\s*parameter\b")
    calls, truncated = [], []
    for invoke in invokes:
        name = _INVOKE.match(inside, invoke.start)
        raw_name = html.unescape(name.group(1)) if name else ""
        if not invoke.closed:
            truncated.append(cut_off_report(raw_name, "cut off before </｜DSML｜invoke>"))
            continue
        try:
            calls.append(make_call(raw_name, _dsml_arguments(invoke.body, raw_name, tools), tools))
        except ArgumentError as exc:
            calls.append(f"arguments of {raw_name}: {exc}")
    end = block.end() + (invokes[-1].end if invokes else 0)
    close = _DSML_BLOCK_END.search(text, end)
    if close is None and not truncated:
        truncated.append("the DSML block is cut off before its closing tag")
    around = text[:block.start()] + (text[close.end():] if close else "")
    return result(calls, around, truncated)


def _dsml_arguments(body: str, name: str, tools: list[dict[str, Any]]) -> dict[str, Any]:
    """Each parameter as its type: `string="false"` is JSON, text otherwise (schema-typed)."""
    props = tool_params(tools, name).get("properties", {})
    args: dict[str, Any] = {}
    for start in _PARAM.finditer(body):
        end = re.compile(_PARAM_END).search(body, start.end())
        if end is None:
            raise ArgumentError(f"parameter {start.group(1)!r} never closes")
        key, raw = html.unescape(start.group(1)), body[start.end():end.start()]
        if (start.group(2) or "true").lower() == "false":
            try:
                args[key] = loads_lenient(raw) if raw.strip() else None
            except ArgumentError:  # not JSON after all: the schema's type, else the text
                args[key] = typed_value(raw, props.get(key)) if isinstance(props.get(key), dict) else raw
        else:
            args[key] = typed_value(raw, props.get(key)) if isinstance(props.get(key), dict) and _not_string(props[key]) else raw
    # A lone `arguments`/`input` wrapper around the real arguments (vLLM unwraps it too).
    if len(args) == 1 and next(iter(args)) in _WRAPPERS and next(iter(args)) not in props:
        inner = next(iter(args.values()))
        if isinstance(inner, str):
            try:
                inner = loads_lenient(inner)
            except ArgumentError:
                return args
        if isinstance(inner, dict) and (not props or set(inner) <= set(props)):
            return inner
    return args


def _not_string(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind is not None and kind != "string" and not (isinstance(kind, list) and "string" in kind)


PARSER = ToolParser("deepseek", parse, (("tool▁calls▁begin",), ("｜DSML｜",)), ("tool▁calls▁begin", "tool▁call▁begin", "｜DSML｜", "|DSML|"))
