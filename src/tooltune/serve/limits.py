"""What one request may cost the server, checked before any heavy work.

One careless or hostile client must not stop the service for everyone: a 2 MB message is ~400k
tokens, hours of prefill on a CPU. So, in order of cost: the body is read up to
`max_request_bytes` (413 beyond, before parsing); messages and tools are counted before each is
validated (400); the prompt is counted against the model's context with the backend's cheap
bound first (`tooltune.llm.context`), and prompt + max_tokens over the context is a 400 in
vLLM's words, before anything is queued. Once queued, a request is cancelled when its client
goes away or its `request_timeout` passes (504), so no one waits on work nobody will read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # `tooltune serve --help` reads Limits' defaults without importing the web stack
    from fastapi import Request

    from tooltune.llm.base import GenerationRequest
    from tooltune.serve.protocol import ApiError

DRAIN_FACTOR = 8  # read (and drop) up to this many times the limit, so the client can read the 413


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int = 1 << 20
    max_messages: int = 512
    max_tools: int = 128
    request_timeout: float = 300.0
    long_prompt: int = 512  # prompts longer than this (tokens) are prefilled in chunks, between short requests
    prefill_chunk: int = 256


async def read_body(request: Request, limit: int) -> bytes:
    """The body, or a 413 once it passes `limit` bytes. A body declared far too large is refused
    unread; otherwise the excess is read and dropped, so the client gets the answer instead of a
    reset connection mid-upload."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_FACTOR * limit:
        raise _too_large(int(declared), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_FACTOR * limit:
            break
    if size > limit:
        raise _too_large(size, limit)
    return b"".join(chunks)


def _too_large(size: int, limit: int) -> ApiError:
    from tooltune.serve.protocol import ApiError

    return ApiError(413, f"the request body is {size} bytes; this server takes at most {limit} "
                    "(its --max-request-bytes): send a shorter conversation", code="request_too_large")


def check_context(llm: Any, gen: GenerationRequest) -> list[int] | None:
    """The prompt's token ids (the engine schedules by them), or a 400 when prompt + max_tokens
    exceed the model's context. None when the backend neither counts tokens nor has a context."""
    from tooltune.llm.context import ContextLengthError, model_context
    from tooltune.serve.protocol import ApiError

    count = getattr(llm, "prompt_ids", None)
    context = model_context(llm)
    if count is None or context is None:
        return None
    try:
        ids = count(gen)
        prompt, at_least = len(ids), False
    except ContextLengthError as exc:
        ids, prompt, at_least = None, exc.prompt_tokens, exc.at_least
    if ids is not None and prompt + gen.max_tokens <= context:
        return ids
    more = "at least " if at_least else ""
    raise ApiError(
        400, f"This model's maximum context length is {context} tokens. However, you requested {more}"
        f"{prompt + gen.max_tokens} tokens ({more}{prompt} in the messages, {gen.max_tokens} in the completion). "
        "Please reduce the length of the messages or completion.", "messages", "context_length_exceeded",
    )


class ClientGone(Exception):
    """The client closed the connection before its answer was ready."""


async def client_gone(request: Request) -> None:
    """Returns when the client disconnects (the body has been read, so the next ASGI message
    is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def answer_or_cancel(request: Request, done: asyncio.Future, gen: GenerationRequest, timeout: float) -> Any:
    """The completion; or, when the client leaves (ClientGone) or `timeout` passes (504) first,
    the generation is cancelled so its batch slot frees."""
    gone = asyncio.ensure_future(client_gone(request))
    try:
        finished, _ = await asyncio.wait({done, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if done in finished:
        return done.result()
    cancel(gen, done)
    if gone in finished:
        raise ClientGone
    raise timed_out(timeout)


def cancel(gen: GenerationRequest, done: asyncio.Future) -> None:
    if gen.cancel is not None:
        gen.cancel.set()
    done.cancel()  # also drops the job if it has not started


def timed_out(timeout: float) -> ApiError:
    from tooltune.serve.protocol import ApiError

    return ApiError(504, f"no answer within the server's request timeout of {timeout:g} s (its --request-timeout); "
                    "ask for fewer max_tokens or retry later", code="request_timeout")
