"""The request side of the OpenAI chat-completions API: validated shapes and their translation
into tooltune's canonical messages.

Pydantic checks the shape (types, ranges, roles); `to_conversation` then checks what a schema
cannot (a `tool` message answering a call nobody made, a `tool_choice` naming no offered tool),
so every bad request becomes one `ApiError` with a message that says what to fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tooltune.messages import Message, ToolCall
from tooltune.toolspec import tool_names

MAX_TOKENS_LIMIT = 8192


class ApiError(Exception):
    """An error the client caused (or the queue being full), answered as OpenAI error JSON."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code

    @property
    def kind(self) -> str:
        kinds = {401: "authentication_error", 404: "not_found_error", 429: "rate_limit_error", 504: "timeout_error"}
        return kinds.get(self.status, "invalid_request_error")

    def to_json(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


class _Open(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FunctionSpec(_Open):
    name: str = Field(pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")  # as vLLM and ollama: any script (查询天气), no control characters
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


class ToolSpec(_Open):
    type: Literal["function"]
    function: FunctionSpec


class CalledFunction(_Open):
    name: str
    arguments: str | dict[str, Any] = "{}"


class ToolCallIn(_Open):
    id: str
    type: Literal["function"] = "function"
    function: CalledFunction


class ContentPart(_Open):
    type: str
    text: str | None = None


class MessageIn(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    reasoning_content: str | None = None


class NamedFunction(_Open):
    name: str


class NamedChoice(_Open):
    type: Literal["function"]
    function: NamedFunction


class ChatRequest(_Open):
    model: str
    messages: list[MessageIn] = Field(min_length=1)
    tools: list[ToolSpec] | None = None
    tool_choice: Literal["auto", "none", "required"] | NamedChoice | None = None
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_LIMIT)
    stop: str | list[str] | None = None
    stream: bool = False
    n: int = Field(default=1, ge=1, le=1)


def parse_request(raw: bytes, max_messages: int | None = None, max_tools: int | None = None) -> ChatRequest:
    """Body bytes to a ChatRequest, or an ApiError: 400 for broken JSON or more messages/tools
    than the server takes (counted before validating each one), 422 for a wrong shape."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the request body is not valid JSON ({exc}); send a JSON object") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object with 'model' and 'messages'")
    for key, limit, flag in (("messages", max_messages, "--max-messages"), ("tools", max_tools, "--max-tools")):
        items = data.get(key)
        if limit is not None and isinstance(items, list) and len(items) > limit:
            raise ApiError(400, f"{key}: {len(items)} given, this server takes at most {limit} per request "
                           f"(its {flag}); send fewer", key, f"too_many_{key}")
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        got = "" if first["type"] == "missing" else f" (got {json.dumps(first.get('input'), default=str)[:60]})"
        raise ApiError(422, f"{where}: {first['msg']}{got}", param=where) from None


@dataclass
class Conversation:
    """A validated request in tooltune terms."""

    messages: list[Message]
    tools: list[dict[str, Any]]  # what the model is shown (empty under tool_choice "none")
    offered: list[dict[str, Any]]  # what the client sent
    choice: str  # auto | none | required | function
    forced_name: str | None
    stop: list[str]
    max_tokens: int
    temperature: float


def to_conversation(req: ChatRequest, default_max_tokens: int) -> Conversation:
    offered = [t.model_dump(exclude_none=True) for t in req.tools or []]
    choice, forced = _tool_choice(req, offered)
    messages = [_message(m, i) for i, m in enumerate(req.messages)]
    _check_tool_results(messages)
    if not any(m.role in ("user", "tool") for m in messages):
        raise ApiError(400, "messages: there is no user message to answer; add one with role 'user'", "messages")
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    if len(stop) > 4 or any(not s for s in stop):
        raise ApiError(422, "stop: give at most 4 non-empty strings", "stop")
    return Conversation(
        messages=messages, tools=[] if choice == "none" else offered, offered=offered, choice=choice, forced_name=forced,
        stop=stop, max_tokens=req.max_completion_tokens or req.max_tokens or default_max_tokens, temperature=req.temperature,
    )


def _tool_choice(req: ChatRequest, offered: list[dict[str, Any]]) -> tuple[str, str | None]:
    names = tool_names(offered)
    if len(set(names)) != len(names):
        raise ApiError(422, "tools: two tools share a name; tool names must be unique", "tools")
    choice = req.tool_choice or "auto"
    if isinstance(choice, NamedChoice):
        if choice.function.name not in names:
            offered_txt = ", ".join(names) or "no tools"
            raise ApiError(400, f"tool_choice names {choice.function.name!r} but the request offers {offered_txt}", "tool_choice")
        return "function", choice.function.name
    if choice == "required" and not names:
        raise ApiError(400, "tool_choice 'required' needs a non-empty 'tools' list", "tool_choice")
    return choice, None


def _message(m: MessageIn, index: int) -> Message:
    where = f"messages.{index}"
    content = m.content
    if isinstance(content, list):
        content = "".join(p.text or "" for p in content if p.type == "text")
    role = "system" if m.role == "developer" else m.role
    if role in ("system", "user") and content is None:
        raise ApiError(422, f"{where}.content: a {m.role} message needs content", f"{where}.content")
    if role == "assistant" and content is None and not m.tool_calls:
        raise ApiError(422, f"{where}: an assistant message needs content or tool_calls", where)
    if role == "tool" and not m.tool_call_id:
        raise ApiError(422, f"{where}.tool_call_id: a tool message must say which call it answers", f"{where}.tool_call_id")
    calls = [_call(c, f"{where}.tool_calls.{j}") for j, c in enumerate(m.tool_calls or [])]
    return Message(role, content, calls, m.tool_call_id, m.name, m.reasoning_content)


def _call(c: ToolCallIn, where: str) -> ToolCall:
    args: Any = c.function.arguments
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            raise ApiError(422, f"{where}.function.arguments is not valid JSON", f"{where}.function.arguments") from None
    if not isinstance(args, dict):
        raise ApiError(422, f"{where}.function.arguments must encode a JSON object", f"{where}.function.arguments")
    return ToolCall(c.function.name, args, c.id)


def _check_tool_results(messages: list[Message]) -> None:
    """Every tool message must answer a call made by an earlier assistant message."""
    calls: dict[str, str] = {}
    for i, m in enumerate(messages):
        for c in m.tool_calls:
            calls[c.id] = c.name
        if m.role == "tool":
            if m.tool_call_id not in calls:
                raise ApiError(
                    400, f"messages.{i}: tool message answers call {m.tool_call_id!r}, but no earlier assistant "
                    "message made a call with that id", f"messages.{i}.tool_call_id",
                )
            m.name = m.name or calls[m.tool_call_id]
