"""ReAct: Thought / Action / Action Input / Observation / Final Answer, English or Chinese.

Layout (the Qwen / ms-swift convention, owned by `react_layout`): one assistant turn per user
question holds the whole scratchpad. The model writes `...Action Input: {..}\nObservation:`
(trained; generation stops on `Observation:`), the tool result follows untrained, and the model
continues the same turn — also between the calls of a parallel step.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from tooltune.formats import react_layout
from tooltune.formats.base import Parsed, PromptFormat, Rendered, Segment, Turn
from tooltune.formats.react_layout import Kw
from tooltune.formats.parsing import (
    MAX_DEPTH, ArgumentError, cut_off_report, decode_arguments, nesting_depth, resolve_tool_name, strip_end_markers, to_jsonable, tool_names,
    tool_params, unknown_tool_error,
)
from tooltune.formats.reasoning import parse_with_reasoning
from tooltune.formats.scan import Scan, scan
from tooltune.prompts import fill
from tooltune.messages import Message, ToolCall
from tooltune.toolspec import tool_description, tool_name, tool_parameters

_CALL_SYNTAX = re.compile(r"^([\w.\-]+)\s*\((.*)\)\s*$", re.S)
_NAME_START = re.compile(r"[\w.\-]+")
_VALUE_START = re.compile(r"\s*(?:```[\w-]*\s*)?")
_ACTION_NAME = re.compile(r"[ \t]*[^\n{(]*")
_KEYWORD_MARK = "(?i:" + react_layout.KEYWORD.pattern.replace("(thought|", "(?:thought|") + ")"


def keywords_outside_values(text: str) -> tuple[list[Kw], dict[int, Scan]]:
    """The ReAct keywords, minus those inside an Action's or Action Input's value (a JSON string
    argument saying "Observation: …" is text), and how each such value ended, by keyword start.
    A value whose brackets never close ends at the next keyword outside its strings."""
    kept: list[Kw] = []
    values: dict[int, Scan] = {}
    skip = -1
    for kw in react_layout.keywords(text):
        if kw.start < skip:
            continue
        kept.append(kw)
        if kw.kind not in ("action", "action input"):
            continue
        start = (_ACTION_NAME if kw.kind == "action" else _VALUE_START).match(text, kw.end).end()  # type: ignore[union-attr]
        if start >= len(text) or text[start] not in "{[(\"'":
            continue
        value = scan(text, start, _KEYWORD_MARK, until_closed=True)
        values[kw.start] = value
        skip = value.end
    return kept, values


def describe_tool(spec: dict[str, Any], lang: str) -> str:
    params = json.dumps(tool_parameters(spec), ensure_ascii=False)
    return fill("tool_desc", lang, name=tool_name(spec), description=tool_description(spec), parameters=params)


class ReActFormat(PromptFormat):
    name = "react"
    stop = list(react_layout.STOP_WORDS)
    call_syntax = "react"
    one_call_per_completion = True  # generation stops at the Observation after each call

    # -- rendering ----------------------------------------------------------------------------
    def system_prompt(self, tools: list[dict[str, Any]]) -> str:
        descs = "\n\n".join(describe_tool(t, self.lang) for t in tools)
        return fill("react", self.lang, tool_descs=descs, tool_names=", ".join(tool_names(tools)))

    def render(self, messages: list[Message], tools: list[dict[str, Any]]) -> Rendered:
        system = "\n\n".join(m.text for m in messages if m.role == "system" and m.text)
        instructions = self.system_prompt(tools) if tools else ""
        turns = [Turn("system", [Segment("\n\n".join(filter(None, [system, instructions])))])]
        scratchpad: list[Message] = []  # the assistant/tool messages of the open turn
        for msg in [m for m in messages if m.role != "system"] + [Message("user")]:
            if msg.role != "user":
                scratchpad.append(msg)
                continue
            if scratchpad:
                turns.append(Turn("assistant", react_layout.turn_segments(scratchpad, self.lang)))
                scratchpad = []
            turns.append(Turn("user", [Segment(msg.text)]))
        turns.pop()  # the sentinel user turn
        last = messages[-1].role if messages else "user"
        return Rendered(turns, open_last=last == "tool")

    def forced_call_prefix(self, name: str | None = None) -> str:
        return react_layout.forced_call_prefix(name)

    # -- parsing ------------------------------------------------------------------------------
    def parse(self, text: str, tools: list[dict[str, Any]]) -> Parsed:
        return parse_with_reasoning(text, lambda rest: self._parse_scratchpad(rest, tools))

    def _parse_scratchpad(self, text: str, tools: list[dict[str, Any]]) -> Parsed:
        text = strip_end_markers(text.replace("\r\n", "\n").replace("\r", "\n"))
        kws, values = keywords_outside_values(text)
        whole = len(text)
        # A hallucinated Observation and everything after it is the model talking to itself.
        first_action = next((k for k in kws if k.kind == "action"), None)
        cut = next((k.start for k in kws if k.kind in ("observation", "question") and (first_action is None or k.start > first_action.start)), len(text))
        kws = [k for k in kws if k.start < cut]
        text = text[:cut]
        final = next((k for k in kws if k.kind == "final answer"), None)
        first_action = next((k for k in kws if k.kind == "action"), None)
        if final and (first_action is None or final.start < first_action.start):
            after = [k for k in kws if k.start > final.start]
            content = text[final.end : after[0].start if after else len(text)].strip()
            return Parsed("final", content=content, thought=self._thought(text, kws, final.start))
        if first_action:
            return self._parse_actions(text, kws, tools, values, at_end=len(text) == whole)
        if any(k.kind == "thought" for k in kws):
            return Parsed("invalid", error="a Thought must be followed by 'Action:' + 'Action Input:' or by 'Final Answer:'")
        if not text:
            return Parsed("invalid", error="empty completion")
        return Parsed("final", content=text, strict=False)

    @staticmethod
    def _thought(text: str, kws: list[Kw], until: int) -> str | None:
        thought_kw = next((k for k in kws if k.kind == "thought" and k.start < until), None)
        start = thought_kw.end if thought_kw else 0
        return text[start:until].strip() or None

    def _parse_actions(self, text: str, kws: list[Kw], tools: list[dict[str, Any]], values: dict[int, Scan],
                       at_end: bool) -> Parsed:
        """Every Action (+ Action Input) as a call. The last one, when the completion ends inside
        it (its JSON or quoted value never closes, its input is empty, its name is unfinished), is
        reported as truncated instead: a call cut off at max_tokens is never run."""
        calls: list[ToolCall] = []
        truncated: list[str] = []
        first = next(k for k in kws if k.kind == "action")
        for i, kw in enumerate(kws):
            if kw.kind != "action":
                continue
            nxt = kws[i + 1] if i + 1 < len(kws) else None
            line = text[kw.end : nxt.start if nxt else len(text)].strip()
            name_part, inline_args = self._split_action_line(line)
            raw_input: Any = inline_args
            has_input = nxt is not None and nxt.kind == "action input"
            after = kws[i + 2] if has_input and i + 2 < len(kws) else None
            if has_input:
                raw_input = text[nxt.end : after.start if after else len(text)].strip()  # type: ignore[union-attr]
            last = at_end and (nxt is None or (has_input and after is None))
            cut = last and self._cut_off(name_part, raw_input, values.get(kw.start), values.get(nxt.start) if has_input else None,
                                         has_input, tools)  # type: ignore[union-attr]
            if cut:
                written = _NAME_START.match(name_part.strip().strip("[]`*\"'"))
                truncated.append(cut_off_report(written.group() if written else name_part, cut))
                continue
            name = resolve_tool_name(name_part, tool_names(tools))
            if name is None:
                return Parsed("invalid", error=unknown_tool_error(name_part, tools))
            params = tool_params(tools, name)
            if raw_input is None:
                if params.get("required"):
                    return Parsed("invalid", error=f"'Action Input:' missing for {name}, which needs {params['required']}")
                raw_input = ""
            try:
                calls.append(ToolCall(name, decode_arguments(raw_input, params)))
            except ArgumentError as exc:
                return Parsed("invalid", error=f"Action Input for {name}: {exc}", truncated=truncated)
        return Parsed.calls_or_cut_off(calls, truncated, thought=self._thought(text, kws, first.start))

    @staticmethod
    def _cut_off(name_part: str, raw_input: Any, line_value: Scan | None, input_value: Scan | None, has_input: bool,
                 tools: list[dict[str, Any]]) -> str | None:
        """Why the action the completion ends in is cut off, or None when it is complete."""
        if line_value is not None and line_value.cut_off:
            return "the completion ends inside its call's arguments"
        if has_input:
            if input_value is not None and input_value.cut_off:
                return "the completion ends inside its Action Input (the JSON never closes)"
            return "the completion ends right after 'Action Input:'" if raw_input == "" else None
        if raw_input is not None:
            return None
        name = name_part.strip()
        exact = {n.lower() for n in tool_names(tools)}
        if name.strip("`*[] ").lower() not in exact:
            return "the completion ends inside its Action line"
        resolved = resolve_tool_name(name, tool_names(tools))
        if resolved and tool_params(tools, resolved).get("required"):
            return "the completion ends before its 'Action Input:'"
        return None

    @staticmethod
    def _split_action_line(line: str) -> tuple[str, Any]:
        """`calculator`, `calculator {"a": 1}` or `calculator(expression="1+2")` -> (name, args)."""
        first_line = line.split("\n", 1)[0].strip()
        match = _CALL_SYNTAX.match(first_line)
        if match:
            if nesting_depth(first_line) > MAX_DEPTH:
                return match.group(1), match.group(2) or None
            try:
                call = ast.parse(first_line, mode="eval").body
                if isinstance(call, ast.Call):
                    kwargs = {k.arg: to_jsonable(ast.literal_eval(k.value)) for k in call.keywords if k.arg}
                    positional = [to_jsonable(ast.literal_eval(a)) for a in call.args]
                    return match.group(1), kwargs or (positional[0] if len(positional) == 1 else None)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return match.group(1), match.group(2) or None
        if "{" in first_line and not first_line.startswith("{"):
            name, _, rest = first_line.partition("{")
            return name, "{" + rest
        return first_line, None
