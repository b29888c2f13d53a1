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
    MAX_DEPTH, ArgumentError, decode_arguments, nesting_depth, resolve_tool_name, strip_end_markers, to_jsonable, tool_names,
    tool_params, unknown_tool_error,
)
from tooltune.formats.reasoning import parse_with_reasoning
from tooltune.formats.templates import fill
from tooltune.messages import Message, ToolCall

_CALL_SYNTAX = re.compile(r"^([\w.\-]+)\s*\((.*)\)\s*$", re.S)


def describe_tool(spec: dict[str, Any], lang: str) -> str:
    fn = spec.get("function", spec)
    params = json.dumps(fn.get("parameters") or {}, ensure_ascii=False)
    return fill("tool_desc", lang, name=fn["name"], description=fn.get("description", ""), parameters=params)


class ReActFormat(PromptFormat):
    name = "react"
    stop = ["Observation:", "Observation："]

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

    # -- parsing ------------------------------------------------------------------------------
    def parse(self, text: str, tools: list[dict[str, Any]]) -> Parsed:
        return parse_with_reasoning(text, lambda rest: self._parse_scratchpad(rest, tools))

    def _parse_scratchpad(self, text: str, tools: list[dict[str, Any]]) -> Parsed:
        text = strip_end_markers(text.replace("\r\n", "\n").replace("\r", "\n"))
        kws = react_layout.keywords(text)
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
            return self._parse_actions(text, kws, tools)
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

    def _parse_actions(self, text: str, kws: list[Kw], tools: list[dict[str, Any]]) -> Parsed:
        calls: list[ToolCall] = []
        first = next(k for k in kws if k.kind == "action")
        for i, kw in enumerate(kws):
            if kw.kind != "action":
                continue
            nxt = kws[i + 1] if i + 1 < len(kws) else None
            line = text[kw.end : nxt.start if nxt else len(text)].strip()
            name_part, inline_args = self._split_action_line(line)
            raw_input: Any = inline_args
            if nxt is not None and nxt.kind == "action input":
                after = kws[i + 2] if i + 2 < len(kws) else None
                raw_input = text[nxt.end : after.start if after else len(text)].strip()
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
                return Parsed("invalid", error=f"Action Input for {name}: {exc}")
        return Parsed("tool_calls", calls=calls, thought=self._thought(text, kws, first.start))

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
