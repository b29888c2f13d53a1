"""Native: the model's own chat template renders tools and tool calls (`apply_chat_template(tools=…)`).

Only for models whose template accepts `tools` (Qwen2.5, Llama 3.1, Hermes, Mistral…). Completions
are parsed with the same tolerant parser as the JSON format, which also reads the untagged JSON
calls Llama and Mistral emit. Over an OpenAI-compatible server the server's own parser is used.
"""

from __future__ import annotations

from typing import Any

from tooltune.errors import TooltuneError
from tooltune.formats.base import Parsed, PromptFormat, Rendered, Segment, Turn
from tooltune.formats.jsoncall import parse_tool_call_text
from tooltune.formats.reasoning import parse_with_reasoning
from tooltune.messages import Message


class NativeFormat(PromptFormat):
    name = "native"
    stop: list[str] = []

    def __init__(self, lang: str = "en", tool_role: str = "user", tool_parser: str = "auto") -> None:
        super().__init__(lang, tool_role)
        if tool_parser not in ("auto", "hermes"):
            raise TooltuneError(f"unknown tool parser {tool_parser!r}: use auto or hermes")
        self.tool_parser = tool_parser

    def render(self, messages: list[Message], tools: list[dict[str, Any]]) -> Rendered:
        turns = []
        for msg in messages:
            extra: dict[str, Any] = {}
            if msg.tool_calls:
                # HF templates expect arguments as a dict (they apply `tojson` themselves).
                extra["tool_calls"] = [
                    {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in msg.tool_calls
                ]
            if msg.role == "assistant" and msg.reasoning_content:
                # Templates that show reasoning (Qwen3's <think>) put it where the model writes it.
                extra["reasoning_content"] = msg.reasoning_content
            if msg.role == "tool":
                extra.update({k: v for k, v in (("tool_call_id", msg.tool_call_id), ("name", msg.name)) if v})
            text = msg.text if msg.role != "assistant" or not msg.tool_calls else (msg.content or "")
            turns.append(Turn(msg.role, [Segment(text, train=msg.role == "assistant")], extra))
        return Rendered(turns, tools=tools or None)

    def parse(self, text: str, tools: list[dict[str, Any]]) -> Parsed:
        return parse_with_reasoning(text, lambda rest: parse_tool_call_text(rest, tools))
