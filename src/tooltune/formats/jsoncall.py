"""JSON function calling with `<tool_call>{"name": …, "arguments": …}</tool_call>` blocks.

The hermes / Qwen2.5 convention: tools are listed as JSON inside `<tools>` in the system prompt,
the model answers with one block per call (parallel calls are several blocks), and results come
back inside `<tool_response>` in a turn whose role is configurable (`user` by default, because
many chat templates and servers reject a `tool` role).
"""

from __future__ import annotations

import json
import re
from typing import Any

from tooltune.formats.base import Parsed, PromptFormat, Rendered, Segment, Turn
from tooltune.formats.parsing import (
    ArgumentError, cut_off_report, decode_arguments, loads_lenient, resolve_tool_name, strip_end_markers, tool_names, tool_params,
    unknown_tool_error,
)
from tooltune.formats.reasoning import parse_with_reasoning
from tooltune.formats.scan import Block, find_blocks, json_values, partial_marker_at_end, scan
from tooltune.prompts import fill
from tooltune.messages import Message, ToolCall
from tooltune.toolspec import function_of

_OPEN = re.compile(r"(?i:<\s*tool_call\s*>)")
_CLOSE = r"(?i:<\s*/\s*tool_call\s*>)"
_NAME = re.compile(r"""["']name["']\s*:\s*["']([^"'\n]{1,80})""")
_LOOKS_LIKE_CALL = re.compile(r"""\[?\s*\{\s*["']?(?:name|function)\b""")
_FENCED = re.compile(r"```(?:json|tool_call|python)?\s*\n?(.*?)```", re.S)
_PREFIXES = ("[TOOL_CALLS]", "<|python_tag|>", "<function_call>", "functools")


def calls_from_object(obj: Any, tools: list[dict[str, Any]]) -> list[ToolCall] | str:
    """Decode one parsed JSON value (a call, a list of calls, OpenAI shape) or return an error."""
    items = obj if isinstance(obj, list) else [obj]
    if not items:
        return "an empty list is no tool call: write {\"name\": …, \"arguments\": {…}}"
    calls = []
    for item in items:
        if not isinstance(item, dict):
            return f"a tool call must be a JSON object with 'name' and 'arguments', got {json.dumps(item)[:60]}"
        item = function_of(item)
        raw_name = item.get("name")
        if not isinstance(raw_name, str):
            return "a tool call needs a 'name'"
        name = resolve_tool_name(raw_name, tool_names(tools))
        if name is None:
            return unknown_tool_error(raw_name, tools)
        raw_args = next((item[k] for k in ("arguments", "parameters", "args", "input") if k in item), {})
        try:
            calls.append(ToolCall(name, decode_arguments(raw_args, tool_params(tools, name))))
        except ArgumentError as exc:
            return f"arguments for {name}: {exc}"
    return calls


def tool_call_blocks(text: str) -> list[Block]:
    """Each `<tool_call>` block, its end found outside the JSON's strings (a `</tool_call>` in an
    argument is text). A block that runs into the next `<tool_call>` counts as closed only when
    its JSON is complete; one that runs to the end of the text was cut off. A completion that
    starts with a bare JSON value is searched after it (its strings may name the tags)."""
    lead = len(text) - len(text.lstrip())
    start = 0
    if text[lead:lead + 1] in ("{", "["):
        value = scan(text, lead, until_closed=True)
        start = value.end if value.how == "closed" else len(text)
    return find_blocks(text, _OPEN, _CLOSE, _OPEN.pattern, start=start)


def cut_off_call(body: str, what: str) -> str:
    """How a cut-off call is reported: its tool name when the model got that far."""
    name = _NAME.search(body)
    return cut_off_report(name.group(1) if name else None, what)


def parse_tool_call_text(text: str, tools: list[dict[str, Any]], strict: bool = False) -> Parsed:
    """Shared by the JSON and native formats: tagged blocks first, then a bare/fenced JSON call
    (not with `strict`: then text without a `<tool_call>` block is the answer, so bare JSON in a
    normal answer is never taken for a call). A block whose `</tool_call>` never came is reported
    as truncated, not repaired into a call; inside a closed block, repair (quotes, commas, Python
    literals, a missing brace) stays."""
    text = strip_end_markers(text.replace("\r\n", "\n"))
    blocks = tool_call_blocks(text)
    truncated = [cut_off_call(b.body, "the <tool_call> block is cut off before </tool_call>") for b in blocks if not b.closed]
    if partial_marker_at_end(text, "<tool_call>") and (not blocks or blocks[-1].closed):
        truncated.append("the completion ends inside a <tool_call> tag")
    if blocks:
        calls: list[ToolCall] = []
        for block in blocks:
            if not block.closed:
                continue
            try:
                obj = loads_lenient(block.body)
            except ArgumentError as exc:
                return Parsed("invalid", error=f"<tool_call> block is {exc}", truncated=truncated)
            got = calls_from_object(obj, tools)
            if isinstance(got, str):
                return Parsed("invalid", error=got, truncated=truncated)
            calls.extend(got)
        return Parsed.calls_or_cut_off(calls, truncated, thought=text[: blocks[0].start].strip() or None)
    untagged = None if strict else _untagged_call(text, tools)
    if untagged is not None:
        return untagged
    if truncated:
        return Parsed.calls_or_cut_off([], truncated)
    if not text:
        return Parsed("invalid", error="empty completion")
    return Parsed("final", content=text)


def _untagged_call(text: str, tools: list[dict[str, Any]]) -> Parsed | None:
    """Llama/Mistral-style calls without tags: JSON objects (or lists; several separated by `;`)
    naming a known tool, or one fenced block. One cut off (its brackets or a string never close)
    is reported, not repaired."""
    body = text
    for prefix in _PREFIXES:
        if body.lstrip().startswith(prefix):
            body = body.lstrip()[len(prefix):]
    fenced = _FENCED.search(body)
    candidates = [([fenced.group(1)], fenced.start(), [])] if fenced else []
    start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
    if start >= 0:
        values, cut = _bare_values(body, start)
        if values or cut:
            candidates.append((values, start, cut))
    for values, pos, cut in candidates:
        try:
            decoded = [loads_lenient(v) for v in values]
        except ArgumentError:
            continue
        obj: Any = decoded[0] if len(decoded) == 1 else [i for v in decoded for i in (v if isinstance(v, list) else [v])]
        first = obj[0] if isinstance(obj, list) and obj else obj
        if cut and not decoded:
            return Parsed.calls_or_cut_off([], cut)
        if not (isinstance(first, dict) and isinstance(function_of(first).get("name"), str)):
            continue
        if not ({"arguments", "parameters", "args", "function"} & set(first)):
            continue
        got = calls_from_object(obj, tools)
        if isinstance(got, str):
            return Parsed("invalid", error=got, truncated=cut)
        return Parsed.calls_or_cut_off(got, cut, thought=body[:pos].strip() or None)
    return None


def _bare_values(body: str, pos: int) -> tuple[list[str], list[str]]:
    """The complete JSON values from `pos` on, and the report of a call-shaped one the text
    ends inside."""
    values, end, cut = json_values(body, pos)
    if cut and _LOOKS_LIKE_CALL.match(body, end):
        return values, [cut_off_call(body[end:], "its JSON is cut off before the end")]
    return values, []


class JsonCallFormat(PromptFormat):
    name = "json"
    stop = ["<tool_response>"]
    call_syntax = "json"

    def __init__(self, lang: str = "en", tool_role: str = "user", strict_tags: bool = False) -> None:
        super().__init__(lang, tool_role)
        self.strict_tags = strict_tags

    def system_prompt(self, tools: list[dict[str, Any]]) -> str:
        tools_json = "\n".join(json.dumps(t, ensure_ascii=False) for t in tools)
        return fill("json", self.lang, tools_json=tools_json)

    def render(self, messages: list[Message], tools: list[dict[str, Any]]) -> Rendered:
        system = "\n\n".join(m.text for m in messages if m.role == "system" and m.text)
        turns = [Turn("system", [Segment("\n\n".join(filter(None, [system, self.system_prompt(tools) if tools else ""])))])]
        for msg in messages:
            if msg.role == "system":
                continue
            if msg.role == "assistant":
                turns.append(Turn("assistant", [Segment(self.assistant_text(msg), train=True)]))
            elif msg.role == "tool":
                response = Segment(f"<tool_response>\n{msg.text}\n</tool_response>")
                # Results of parallel calls share one turn, as hermes/Qwen templates do.
                if turns[-1].role == self.tool_role and turns[-1].extra.get("tool_results"):
                    turns[-1].segments += [Segment("\n"), response]
                else:
                    turns.append(Turn(self.tool_role, [response], extra={"tool_results": True}))
            else:
                turns.append(Turn(msg.role, [Segment(msg.text)]))
        for t in turns:
            t.extra.pop("tool_results", None)
        return Rendered(turns)

    @staticmethod
    def assistant_text(msg: Message) -> str:
        thought = (msg.reasoning_content or (msg.content if msg.tool_calls else "") or "").strip()
        if not msg.tool_calls:
            return msg.text
        blocks = [
            "<tool_call>\n" + json.dumps({"name": c.name, "arguments": c.arguments}, ensure_ascii=False) + "\n</tool_call>"
            for c in msg.tool_calls
        ]
        return "\n".join(([thought] if thought else []) + blocks)

    def parse(self, text: str, tools: list[dict[str, Any]]) -> Parsed:
        return parse_with_reasoning(text, lambda rest: parse_tool_call_text(rest, tools, self.strict_tags))
