"""Native: the model's own chat template renders tools and tool calls (`apply_chat_template(tools=…)`).

Only for models whose template accepts `tools` (Qwen, Llama 3.x, Mistral, DeepSeek, GLM, Kimi,
gpt-oss, Gemma…). Completions are parsed by the model family's own parser (formats/tool_parsers):
`tool_parser="auto"` takes the family from the chat template once `use_model(tokenizer)` is
called, else from the completion's markers; a name forces one. Over an OpenAI-compatible server
the server's own parser is used.
"""

from __future__ import annotations

from typing import Any

from tooltune.formats.base import Parsed, PromptFormat, Rendered, Segment, Turn
from tooltune.formats.reasoning import parse_with_reasoning
from tooltune.formats.tool_parsers import detect_tool_parser, get_tool_parser, sniff_tool_parser
from tooltune.messages import Message


class NativeFormat(PromptFormat):
    name = "native"
    native = True
    stop: list[str] = []

    def __init__(self, lang: str = "en", tool_role: str = "user", tool_parser: str = "auto", strict_tags: bool = False) -> None:
        """`strict_tags`: a call only inside the family's call markers; untagged JSON (which
        hermes, llama3 and gemma otherwise accept) is then the answer's text."""
        super().__init__(lang, tool_role)
        if tool_parser != "auto":
            get_tool_parser(tool_parser)  # an unknown name is a one-line error now, not at parse time
        self.tool_parser = tool_parser
        self.strict_tags = strict_tags

    @property
    def call_syntax(self) -> str | None:  # type: ignore[override]
        """Only the hermes family writes the json format's `<tool_call>` blocks; the others' call
        syntaxes have no grammar (formats.grammar)."""
        return "json" if self.tool_parser == "hermes" else None

    def use_model(self, tokenizer_or_template: Any) -> str:
        """With `tool_parser="auto"`, fix the family from the model's chat template and special
        tokens (call once the tokenizer is known); returns the family in use."""
        if self.tool_parser == "auto":
            self.tool_parser = detect_tool_parser(tokenizer_or_template)
        return self.tool_parser

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
        # "auto" before the model is known: the completion's own markers name the family.
        name = self.tool_parser if self.tool_parser != "auto" else sniff_tool_parser(text)
        parser = get_tool_parser(name)
        if name == "gpt-oss":  # harmony carries its reasoning in the analysis channel
            return parser.parse(text, tools, strict=self.strict_tags)
        return parse_with_reasoning(text, lambda rest: parser.parse(rest, tools, strict=self.strict_tags), thought_is_reasoning=False)
