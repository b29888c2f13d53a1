"""Any OpenAI-compatible chat server: vLLM, ollama, llama.cpp server, hosted APIs.

Two things differ between servers and are handled here rather than by the user:
- an unfinished assistant turn (ReAct after an observation): `continue_mode="fold"` (default)
  sends what the model wrote as an assistant message and the observations as messages in
  `tool_role`; `"prefill"` sends the open turn as a trailing assistant message to be continued
  (vLLM gets `continue_final_message`; llama.cpp and ollama continue such a message natively).
- the `tool` role: some servers refuse it (ollama did). `role_map` renames roles up front, and a
  server that answers 400 to a `tool` message is retried once with tool results folded into
  `tool_role`, and remembered.

A server failure is never a model answer. A stream that ends without a `finish_reason`, a
connection reset, a 5xx or 429 is retried with exponential backoff (`retries`, `backoff`), then
raised as `BackendError` carrying the server's message. Each failure also halves the number of
requests sent at once (down to one): a server that serves one request at a time (llama.cpp's)
breaks the streams of the others, so concurrency adapts instead of turning them into empty answers.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from typing import Any

from tooltune.errors import BackendError, TooltuneError
from tooltune.formats import json_layout
from tooltune.formats.base import Rendered
from tooltune.llm.base import LLM, Completion, GenerationRequest, OnText, cut_at_stop
from tooltune.messages import ToolCall

log = logging.getLogger(__name__)


def fold_open_turn(rendered: Rendered, tool_role: str) -> list[dict[str, Any]]:
    """Chat messages for a server that cannot continue an assistant turn: the trained segments of
    the open turn become assistant messages, the untrained ones (observations) `tool_role` ones."""
    messages = [t.to_chat() for t in rendered.turns[:-1]]
    for seg in rendered.turns[-1].segments:
        role = "assistant" if seg.train else tool_role
        text = seg.text if seg.train else seg.text.strip()
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += text
        else:
            messages.append({"role": role, "content": text})
    return messages


def fold_tool_messages(messages: list[dict[str, Any]], tool_role: str) -> list[dict[str, Any]]:
    """Replace `tool` messages (and assistant `tool_calls`) with plain text a strict server accepts."""
    out = []
    for m in messages:
        if m["role"] == "tool":
            out.append({"role": tool_role, "content": json_layout.response_block(m.get("content") or "")})
        elif m.get("tool_calls"):
            calls = [ToolCall.from_openai(c) for c in m["tool_calls"]]
            calls_text = json_layout.assistant_text(None, [(c.name, c.arguments) for c in calls])
            out.append({"role": "assistant", "content": "\n".join(filter(None, [m.get("content"), calls_text]))})
        else:
            out.append(m)
    return out


class _Retryable(Exception):
    """A failure of the server or the connection (not of the request): worth another attempt."""


class AdaptiveLimit:
    """At most `limit` requests in flight; `shrink()` halves it (to at least 1) after a failure."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._active = 0
        self._cond = threading.Condition()

    def __enter__(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._active < self.limit)
            self._active += 1

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def shrink(self) -> None:
        with self._cond:
            if self.limit > 1:
                self.limit = max(1, self.limit // 2)
                log.warning("server failed under parallel requests: sending at most %d at once from now on", self.limit)


class _ShownText:
    """Forwards streamed text to `on_text` once: a retried stream only shows what goes beyond
    what an earlier attempt already showed."""

    def __init__(self, on_text: OnText | None) -> None:
        self.on_text, self.shown, self.text = on_text, 0, ""

    def restart(self) -> None:
        self.text = ""

    def __call__(self, piece: str) -> None:
        self.text += piece
        if self.on_text and len(self.text) > self.shown:
            self.on_text(self.text[self.shown:])
            self.shown = len(self.text)


class OpenAILLM(LLM):
    name = "openai"

    def __init__(
        self, base_url: str, api_key: str | None = None, model: str | None = None, continue_mode: str = "fold",
        tool_role: str = "user", role_map: dict[str, str] | None = None, timeout: float = 120.0, concurrency: int = 4,
        retries: int = 3, backoff: float = 1.0,
    ) -> None:
        import openai

        if continue_mode not in ("fold", "prefill"):
            raise TooltuneError(f"unknown continue mode {continue_mode!r}: use 'fold' or 'prefill'")
        # Retries are ours (below), so that broken streams are retried too, not only failed requests.
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "EMPTY", timeout=timeout, max_retries=0)
        self.base_url = base_url
        self._model = model
        self.continue_mode = continue_mode
        self.tool_role = tool_role
        self.role_map = dict(role_map or {})
        self.refuses_tool_role = False
        self.concurrency = concurrency
        self.limit = AdaptiveLimit(concurrency)
        self.retries, self.backoff = retries, backoff

    @property
    def model(self) -> str:
        if self._model is None:
            import openai

            try:
                models = [m.id for m in self.client.models.list()]
            except openai.OpenAIError as exc:
                raise TooltuneError(f"cannot reach {self.base_url}: {exc}; check --base-url and that the server runs") from None
            if not models:
                raise TooltuneError(f"{self.base_url} lists no models: pass --model NAME")
            self._model = models[0]
        return self._model

    def _messages(self, request: GenerationRequest) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        extra: dict[str, Any] = {}
        if request.native:
            messages = [m.to_openai() for m in request.messages]
            for m in messages:
                m.pop("reasoning_content", None)
            if request.tools:
                extra["tools"] = request.tools
        elif request.rendered.open_last and self.continue_mode == "fold":
            messages = fold_open_turn(request.rendered, self.tool_role)
        else:
            messages = [t.to_chat() for t in request.rendered.turns]
            if request.rendered.open_last:
                extra["extra_body"] = {"continue_final_message": True, "add_generation_prompt": False}
        for m in messages:
            m["role"] = self.role_map.get(m["role"], m["role"])
        if self.refuses_tool_role:
            messages = fold_tool_messages(messages, self.tool_role)
        return messages, extra

    def complete(self, request: GenerationRequest, on_text: OnText | None = None) -> Completion:
        """One completion; server failures are retried, then raised as BackendError."""
        messages, extra = self._messages(request)
        shown = _ShownText(on_text)
        failure = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                with self.limit:
                    shown.restart()
                    return self._complete_once(messages, extra, request, shown)
            except _Retryable as exc:
                failure = str(exc)
                log.warning("%s: %s (attempt %d of %d)", self.base_url, failure, attempt + 1, self.retries + 1)
                self.limit.shrink()
        raise BackendError(f"{self.base_url} failed {self.retries + 1} times, last: {failure}") from None

    def _complete_once(self, messages: list[dict[str, Any]], extra: dict[str, Any], request: GenerationRequest, shown: _ShownText) -> Completion:
        import httpx
        import openai

        try:
            try:
                return self._stream(messages, extra, request, shown)
            except openai.BadRequestError as exc:
                has_tool_role = any(m["role"] == "tool" or m.get("tool_calls") for m in messages)
                if not has_tool_role or self.refuses_tool_role:
                    raise TooltuneError(f"{self.base_url} refused the request: {exc}") from None
                log.warning("server refused the tool role (%s); folding tool results into %r", exc, self.tool_role)
                self.refuses_tool_role = True
                shown.restart()
                return self._stream(fold_tool_messages(messages, self.tool_role), extra, request, shown)
        except openai.APIConnectionError as exc:  # includes timeouts
            cause = f"{type(exc.__cause__).__name__}: {exc.__cause__}" if exc.__cause__ else str(exc)
            raise _Retryable(f"the connection failed ({cause}): check --base-url and that the server runs") from None
        except openai.APIStatusError as exc:
            if exc.status_code >= 500 or exc.status_code == 429:
                raise _Retryable(f"HTTP {exc.status_code}: {_server_message(exc)}") from None
            raise TooltuneError(f"{self.base_url} refused the request (HTTP {exc.status_code}): {_server_message(exc)}") from None
        except openai.APIError as exc:  # an error event inside the stream
            raise _Retryable(f"the stream reported an error: {exc}") from None
        except httpx.HTTPError as exc:  # reset / cut connection while reading the stream
            raise _Retryable(f"the connection broke mid-stream ({type(exc).__name__}: {exc})") from None

    def complete_batch(self, requests: list[GenerationRequest]) -> list[Completion]:
        """A server batches on its side: send the requests concurrently; raises the first failure."""
        outcomes = self.complete_each(requests)
        for outcome in outcomes:
            if isinstance(outcome, BackendError):
                raise outcome
        return outcomes  # type: ignore[return-value]

    def complete_each(self, requests: list[GenerationRequest]) -> list[Completion | BackendError]:
        """Concurrent completions (at most `limit.limit` in flight), each request's own outcome:
        one broken request costs only itself."""

        def one(request: GenerationRequest) -> Completion | BackendError:
            try:
                return self.complete(request)
            except BackendError as exc:
                return exc

        if self.concurrency <= 1 or len(requests) <= 1:
            return [one(r) for r in requests]
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            return list(pool.map(one, requests))

    def _stream(self, messages: list[dict[str, Any]], extra: dict[str, Any], request: GenerationRequest, on_text: _ShownText) -> Completion:
        stop = request.stop[:4] or None  # the OpenAI API takes at most 4 stop strings
        stream = self.client.chat.completions.create(
            model=self.model, messages=messages, stream=True, max_tokens=request.max_tokens,
            temperature=request.temperature, stop=stop, **extra,
        )
        text, finish, usage = "", None, None
        calls: dict[int, dict[str, str]] = {}
        for chunk in stream:
            if request.cancel is not None and request.cancel.is_set():
                stream.close()
                finish = "cancelled"
                break
            usage = getattr(chunk, "usage", None) or usage  # servers that report it put it on the last chunk
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            delta = choice.delta
            if delta.content:
                text += delta.content
                on_text(delta.content)
            for tc in delta.tool_calls or []:
                slot = calls.setdefault(tc.index or 0, {"id": "", "name": "", "arguments": ""})
                if tc.id:
                    slot["id"] = tc.id
                if tc.function and tc.function.name:
                    slot["name"] += tc.function.name
                if tc.function and tc.function.arguments:
                    slot["arguments"] += tc.function.arguments
            finish = choice.finish_reason or finish
        if finish is None:  # every server ends a finished stream with a finish_reason
            raise _Retryable(f"the stream ended without a finish_reason after {len(text)} characters")
        tool_calls = [_decode_call(c) for _, c in sorted(calls.items())] or None
        text, _ = cut_at_stop(text, request.stop)
        counts = (usage.prompt_tokens or 0, usage.completion_tokens or 0) if usage is not None else (0, 0)
        return Completion(text, tool_calls, finish, *counts)


def _server_message(exc: Any) -> str:
    """The server's own words from an error response (OpenAI's {"error": {"message"}} or plain)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return str(getattr(exc, "message", exc))


def _decode_call(raw: dict[str, str]) -> ToolCall:
    from tooltune.formats.parsing import ArgumentError, decode_arguments

    try:
        args = decode_arguments(raw["arguments"], {})
    except ArgumentError:
        args = {"_raw": raw["arguments"]}
    return ToolCall.from_openai({"id": raw["id"] or None, "function": {"name": raw["name"], "arguments": args}})

