"""The OpenAI-compatible HTTP server: /v1/chat/completions (tools, streaming), /v1/models, /health.

Every failure a client can cause is answered as OpenAI error JSON with a 4xx status; anything
unexpected is a 500 JSON error naming the exception, never a stack trace, and the server stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sse_starlette.sse import EventSourceResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tooltune.formats.base import PromptFormat
from tooltune.llm.base import LLM
from tooltune.serve.engine import BatchEngine, QueueFull
from tooltune.serve.limits import ClientGone, Limits, answer_or_cancel, cancel, check_context, read_body, timed_out
from tooltune.serve.protocol import ApiError, parse_request, to_conversation
from tooltune.serve.replies import ChunkMaker, Reply, generation_request, make_reply, response_json, tool_call_deltas

log = logging.getLogger("tooltune.serve")


@dataclass
class Served:
    """What every route reads: the model, its format, the limits. Kept on `app.state.served`, so
    the handlers are plain functions of the request."""

    llm: LLM
    fmt: PromptFormat
    engine: BatchEngine
    model_name: str
    api_key: str | None
    default_max_tokens: int
    limits: Limits


def create_app(
    llm: LLM, fmt: PromptFormat, model_name: str = "tooltune", api_key: str | None = None,
    max_batch: int = 8, max_queue: int = 64, default_max_tokens: int = 512, limits: Limits | None = None,
) -> FastAPI:
    limits = limits or Limits()
    engine = BatchEngine(llm, max_batch=max_batch, max_queue=max_queue, long_prompt=limits.long_prompt,
                         prefill_chunk=limits.prefill_chunk)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.close()

    app = FastAPI(title="tooltune", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.engine = engine
    app.state.served = Served(llm, fmt, engine, model_name, api_key, default_max_tokens, limits)
    _install_error_handlers(app)
    app.add_api_route("/health", health, methods=["GET"])
    app.add_api_route("/v1/models", models, methods=["GET"])
    app.add_api_route("/v1/chat/completions", chat, methods=["POST"])
    return app


def _served(request: Request) -> Served:
    return request.app.state.served


def authorize(served: Served, request: Request) -> None:
    """With --api-key, every /v1 route wants `Authorization: Bearer <key>` (compared in constant time)."""
    if served.api_key is None:
        return
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), served.api_key.encode()):
        raise ApiError(401, "invalid or missing API key: send 'Authorization: Bearer <key>' with the server's --api-key",
                       code="invalid_api_key")


async def health(request: Request) -> dict[str, Any]:
    served = _served(request)
    return {"status": "ok", "model": served.model_name, "format": served.fmt.name, "queued": served.engine.waiting,
            "cancelled": served.engine.cancelled}


async def models(request: Request) -> dict[str, Any]:
    served = _served(request)
    authorize(served, request)
    return {"object": "list", "data": [{"id": served.model_name, "object": "model", "created": 0, "owned_by": "tooltune"}]}


async def chat(request: Request) -> Any:
    """/v1/chat/completions: checked and rendered before it is queued (a 4xx costs no prefill),
    then answered whole or as an SSE stream."""
    served = _served(request)
    authorize(served, request)
    limits = served.limits
    req = parse_request(await read_body(request, limits.max_request_bytes), limits.max_messages, limits.max_tools)
    if req.model != served.model_name:
        raise ApiError(404, f"model {req.model!r} is not served here; this server serves {served.model_name!r}",
                       "model", "model_not_found")
    conv = to_conversation(req, served.default_max_tokens)
    gen, prefix = generation_request(served.fmt, conv)
    ids = await asyncio.to_thread(check_context, served.llm, gen)  # a 400 here costs no prefill
    gen.cancel = threading.Event()
    if req.stream:
        live = not conv.tools and not prefix
        pieces: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        on_text = (lambda text: loop.call_soon_threadsafe(pieces.put_nowait, text)) if live else None
        future = _submit(served.engine, gen, on_text, ids)  # a full queue is a 429 before any byte is streamed
        stream = _stream(future, pieces if live else None, served.fmt, conv, gen, prefix, served.model_name,
                         limits.request_timeout)
        return EventSourceResponse(stream, ping=15)
    try:
        completion = await answer_or_cancel(request, asyncio.wrap_future(_submit(served.engine, gen, None, ids)), gen,
                                            limits.request_timeout)
    except ClientGone:
        log.info("client left before its answer; generation cancelled")
        return Response(status_code=499)
    return response_json(make_reply(served.fmt, conv, completion, prefix), served.model_name)


def _submit(engine: BatchEngine, gen: Any, on_text: Any = None, ids: list[int] | None = None) -> Any:
    try:
        return engine.submit(gen, on_text, ids)
    except QueueFull:
        raise ApiError(429, "the server's request queue is full; retry shortly", code="queue_full") from None


async def _stream(
    future: Any, pieces: asyncio.Queue[str] | None, fmt: PromptFormat, conv: Any, gen: Any, prefix: str, model: str,
    timeout: float,
) -> AsyncIterator[str]:
    """SSE chunks. Without tools the text streams as it is generated; with tools the completion is
    parsed first (a half-written call cannot be told from an answer), then sent as content or as
    tool-call deltas: id and name first, then argument fragments. A client that goes away (the
    generator is cancelled or closed) or the deadline passing cancels the generation."""
    chunk = ChunkMaker(model)
    done = asyncio.wrap_future(future)
    deadline = asyncio.get_running_loop().time() + timeout
    sent, finished = "", False
    try:
        yield chunk({"role": "assistant", "content": ""})
        async with contextlib.aclosing(_generated_text(done, pieces, deadline, timeout)) as text:
            async for piece in text:
                sent += piece
                yield chunk({"content": piece})
        completion = done.result()
        finished = True
    except ApiError as exc:  # the deadline: an in-band error, which the openai client raises
        yield json.dumps(exc.to_json())
        yield "[DONE]"
        return
    except Exception as exc:  # noqa: BLE001 - the stream is open; report in-band and end cleanly
        finished = True
        log.warning("generation failed: %s", exc)
        yield chunk({}, "stop")
        yield "[DONE]"
        return
    finally:
        if not finished:  # the client went away, or the deadline passed: stop generating for it
            cancel(gen, done)
    for event in _closing_chunks(chunk, make_reply(fmt, conv, completion, prefix), sent, live=pieces is not None):
        yield event


async def _generated_text(done: asyncio.Future[Any], pieces: asyncio.Queue[str] | None, deadline: float,
                          timeout: float) -> AsyncIterator[str]:
    """The text as the engine generates it (none without `pieces`: a reply with tools is parsed
    whole), until the generation ends. Past `deadline` it raises the timeout error; a failed
    generation raises its error here, before the text still queued is sent."""
    loop = asyncio.get_running_loop()
    getter = None
    try:
        while not done.done():
            left = deadline - loop.time()
            getter = asyncio.ensure_future(pieces.get() if pieces is not None else asyncio.sleep(left))
            await asyncio.wait({getter, done}, timeout=max(left, 0), return_when=asyncio.FIRST_COMPLETED)
            if pieces is not None and getter.done():
                yield getter.result()
            else:
                getter.cancel()
            if not done.done() and loop.time() >= deadline:
                raise timed_out(timeout)
    finally:
        if getter is not None:
            getter.cancel()
    done.result()
    while pieces is not None and not pieces.empty():
        yield pieces.get_nowait()


def _closing_chunks(chunk: ChunkMaker, reply: Reply, sent: str, live: bool) -> Iterator[str]:
    """The chunks after the generation: the reasoning, the content not streamed yet (all of it
    unless it streamed live), the tool-call deltas, the finish reason with usage, then [DONE]."""
    if reply.reasoning:
        yield chunk({"reasoning_content": reply.reasoning})
    if reply.content and not live:
        yield chunk({"content": reply.content})
    elif reply.content and reply.content.startswith(sent) and len(reply.content) > len(sent):
        yield chunk({"content": reply.content[len(sent):]})
    for delta in tool_call_deltas(reply.tool_calls):
        yield chunk(delta)
    yield chunk({}, reply.finish_reason, reply.usage())
    yield "[DONE]"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.to_json(), status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = f"no route {request.method} {request.url.path}" if exc.status_code in (404, 405) else str(exc.detail)
        return JSONResponse(ApiError(exc.status_code, message).to_json(), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("request failed: %s: %s", type(exc).__name__, exc)
        body = {"error": {"message": f"the server failed on this request ({type(exc).__name__}: {exc})",
                          "type": "server_error", "param": None, "code": None}}
        return JSONResponse(body, status_code=500)


def serve_forever(app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning")
