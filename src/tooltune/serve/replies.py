"""From a conversation to a generation request, and from a completion back to OpenAI JSON.

The prompt is `fmt.render` — the renderer training used — and the reply is `fmt.parse`, so the
server speaks exactly the layout the model was tuned on. `tool_choice` "required" or a named
function is started by *prefilling* the assistant turn with the start of a call in the format's
own syntax (`<tool_call>\n{"name": "` / `Action: `), which the model then completes; a backend
that enforces constraints (local transformers) also holds the rest of the call to the offered
tools' schemas (formats.grammar): "auto" lazily, from a call's opener on, and "none" never lets
the model open a call.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from tooltune.formats.base import PromptFormat, Segment, Turn
from tooltune.formats.parsing import strip_end_markers
from tooltune.llm.base import Completion, GenerationRequest
from tooltune.messages import ToolCall
from tooltune.serve.protocol import Conversation


def generation_request(fmt: PromptFormat, conv: Conversation) -> tuple[GenerationRequest, str]:
    """The backend request and the prefilled text the completion continues ("" when none)."""
    rendered = fmt.render(conv.messages, conv.tools)
    prefix = fmt.forced_call_prefix(conv.forced_name) if conv.choice in ("required", "function") else ""
    if prefix:
        if rendered.open_last:
            rendered.turns[-1].segments.append(Segment(prefix))
        else:
            rendered.turns.append(Turn("assistant", [Segment(prefix)]))
        rendered.open_last = True
    request = GenerationRequest.for_format(fmt, rendered, conv.messages, conv.tools, max_tokens=conv.max_tokens, temperature=conv.temperature,
                                           extra_stop=conv.stop, choice=conv.choice, forced_name=conv.forced_name, prefix=prefix)
    return request, prefix


@dataclass
class Reply:
    """The assistant's answer in OpenAI terms."""

    content: str | None
    reasoning: str | None
    tool_calls: list[ToolCall]
    finish_reason: str
    completion_tokens: int
    prompt_tokens: int

    def message(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.reasoning:
            out["reasoning_content"] = self.reasoning
        if self.tool_calls:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        return out

    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens}


def make_reply(fmt: PromptFormat, conv: Conversation, completion: Completion, prefix: str) -> Reply:
    """Parse the model's text with the format's parser. Text that is no valid call comes back as
    plain content (the model's words are never dropped); under tool_choice "none" nothing is parsed."""
    text = prefix + completion.text
    counts = (completion.completion_tokens, completion.prompt_tokens)
    if conv.tools:
        parsed = fmt.parse(text, conv.tools)
        reasoning = parsed.reasoning or parsed.thought
        if parsed.kind == "tool_calls":
            return Reply(None, reasoning, parsed.calls, "tool_calls", *counts)
        if parsed.kind == "final":
            return Reply(parsed.content or "", reasoning, [], _finish(completion), *counts)
    return Reply(strip_end_markers(text), None, [], _finish(completion), *counts)


def _finish(completion: Completion) -> str:
    return "length" if completion.finish_reason == "length" else "stop"


def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def response_json(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": completion_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": reply.message(), "finish_reason": reply.finish_reason, "logprobs": None}],
        "usage": reply.usage(),
    }


class ChunkMaker:
    """OpenAI `chat.completion.chunk` objects sharing one id."""

    def __init__(self, model: str) -> None:
        self.id, self.model, self.created = completion_id(), model, int(time.time())

    def __call__(self, delta: dict[str, Any], finish_reason: str | None = None, usage: dict | None = None) -> str:
        chunk: dict[str, Any] = {
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }
        if usage is not None:
            chunk["usage"] = usage
        return json.dumps(chunk, ensure_ascii=False)


def tool_call_deltas(calls: list[ToolCall], fragment_chars: int = 16) -> list[dict[str, Any]]:
    """Deltas the way OpenAI streams calls: id, type and name first, then the arguments in pieces."""
    deltas: list[dict[str, Any]] = []
    for index, call in enumerate(calls):
        deltas.append({"tool_calls": [{"index": index, "id": call.id, "type": "function",
                                       "function": {"name": call.name, "arguments": ""}}]})
        args = json.dumps(call.arguments, ensure_ascii=False)
        for start in range(0, len(args), fragment_chars):
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": args[start:start + fragment_chars]}}]})
    return deltas
