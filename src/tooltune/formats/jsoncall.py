"""JSON function calling with `<tool_call>{"name": …, "arguments": …}</tool_call>` blocks.

The hermes / Qwen2.5 convention: tools are listed as JSON inside `<tools>` in the system prompt,
the model answers with one block per call (parallel calls are several blocks), and results come
back inside `<tool_response>` in a turn whose role is configurable (`user` by default, because
many chat templates and servers reject a `tool` role). The layout's bytes are `json_layout`'s,
the reading back is `json_parse`'s.
"""

from __future__ import annotations

import json
from typing import Any

from tooltune.formats import json_layout as layout
from tooltune.formats.base import Parsed, PromptFormat, Rendered, Segment, Turn
from tooltune.formats.json_parse import parse_json_calls
from tooltune.messages import Message
from tooltune.prompts import fill


class JsonCallFormat(PromptFormat):
    name = "json"
    stop = [layout.RESPONSE_OPEN]
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
                response = Segment(layout.response_block(msg.text))
                # Results of parallel calls share one turn, as hermes/Qwen templates do.
                if turns[-1].role == self.tool_role and turns[-1].extra.get("tool_results"):
                    turns[-1].segments += [Segment(layout.SEPARATOR), response]
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
        return layout.assistant_text(thought, [(c.name, c.arguments) for c in msg.tool_calls])

    def parse(self, text: str, tools: list[dict[str, Any]]) -> Parsed:
        return parse_json_calls(text, tools, self.strict_tags)
