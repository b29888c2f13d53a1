"""The connections behind MCP tools: one background asyncio loop holds every server's session.

The `mcp` SDK is async (anyio) while tooltune's tools are plain callables, so one daemon thread
runs an event loop for the whole process and every server lives in a task on it. A server's
whole life (spawn, handshake, wait, shutdown) runs inside that one task, because anyio's cancel
scopes must be left by the task that entered them. Callers on other threads only submit
coroutines and wait on them with a deadline, so no call can hang.

A server is started once per process and reused by every later `start` of the same spec; it is
closed by `close_all`, which also runs at exit (normal exit, an uncaught Ctrl-C, `sys.exit`).
Stdio servers run in their own process group (the SDK's choice), so a Ctrl-C typed at the
terminal does not kill them under a running call: tooltune closes them itself.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import re
import shlex
import threading
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import mcp_types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tooltune.errors import TooltuneError

# Grace beyond a call's own timeout for the hop to the loop and back; the SDK's own deadline
# normally answers first (and tells the server to cancel).
_HOP_S = 5.0
# A stdio server's shutdown is bounded by the SDK: close stdin, 2 s, SIGTERM, 2 s, SIGKILL.
_CLOSE_S = 10.0
# A server's answers can be large (a file, a diff); the SDK's 1 MiB cap per SSE event would
# turn a big HTTP result into a transport error.
_MAX_SSE_EVENT = 64 * 1024 * 1024
MAX_LIST_PAGES = 100  # a server whose tools/list never ends cannot hang the start

_lock = threading.Lock()
_start_lock = threading.Lock()  # two threads asking for one server start it once
_loop: asyncio.AbstractEventLoop | None = None
_sessions: dict[tuple[Any, ...], ServerSession] = {}


@dataclass(frozen=True)
class ServerSpec:
    """How to reach one MCP server: a command to run (stdio) or a URL (streamable HTTP)."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    def describe(self) -> str:
        """The command line or URL, for messages."""
        return self.url or shlex.join([self.command or "", *self.args])

    def key(self) -> tuple[Any, ...]:
        """Identity for 'started once per process': everything but the name."""
        return (self.command, self.args, tuple(sorted(self.env.items())), self.cwd, self.url)

    def __hash__(self) -> int:  # `env` is a dict, which the generated hash would choke on
        return hash((self.name, self.key()))


class ServerGone(Exception):
    """The server stopped (exited, was killed, or closed); its calls answer at once with why."""


def _get_loop() -> asyncio.AbstractEventLoop:
    """The shared loop, started on first use, with `close_all` registered for exit."""
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="tooltune-mcp", daemon=True).start()
            atexit.register(close_all)
        return _loop


def _leaf(exc: BaseException) -> BaseException:
    """anyio's task groups wrap errors in exception groups; the first leaf says what happened."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def describe_error(exc: BaseException) -> str:
    """An error as one short phrase: MCP, OS and timeout errors say enough by their message."""
    exc = _leaf(exc)
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, (MCPError, OSError, TimeoutError)) else f"{type(exc).__name__}: {text}"


def _quiet_sdk_logs(log_dir: Path) -> None:
    """The SDK logs transport trouble (a server that died, a bad line) through `logging`, which
    with no handler configured prints to the terminal. Send it to a file beside the servers'."""
    sdk = logging.getLogger("mcp")
    if not sdk.handlers:
        sdk.addHandler(logging.FileHandler(log_dir / "tooltune-mcp-client.log", encoding="utf-8"))
        sdk.propagate = False


class ServerSession:
    """One running server: its `Client`, its log file, and why it stopped once it has."""

    def __init__(self, spec: ServerSpec, log_path: Path | None) -> None:
        self.spec, self.log_path = spec, log_path
        self.client: Client | None = None
        self.tools: list[mcp_types.Tool] = []
        self.gone: str | None = None
        self._reaper: asyncio.Task[None] | None = None
        self._log_start = 0
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    # -- life ---------------------------------------------------------------------------------
    def _transport(self, log: IO[str] | None) -> AbstractAsyncContextManager[Any]:
        if self.spec.url:
            return streamable_http_client(self.spec.url, max_sse_event_size=_MAX_SSE_EVENT)
        params = StdioServerParameters(command=self.spec.command or "", args=list(self.spec.args), env=self.spec.env or None, cwd=self.spec.cwd)
        return stdio_client(params, errlog=log)  # type: ignore[arg-type]

    async def _serve(self, ready: asyncio.Future[None]) -> None:
        """The task that owns the connection from spawn to shutdown (see the module doc)."""
        log = None
        if self.log_path is not None:
            log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the task
            self._log_start = log.tell()
        try:
            async with Client(self._transport(log)) as client:
                self.client = client
                ready.set_result(None)
                await self._stop.wait()  # type: ignore[union-attr]
        except Exception as exc:
            if not ready.done():
                ready.set_exception(_leaf(exc))
            else:
                self.gone = self.gone or f"the connection failed: {describe_error(exc)}"
        except BaseException:  # cancelled (a start that timed out, a Ctrl-C): no one awaits it
            if not ready.done():
                ready.cancel()
            raise
        finally:
            self.client = None
            self.gone = self.gone or "it was closed"
            if log is not None:
                log.close()

    async def _start(self, timeout_s: float) -> list[mcp_types.Tool]:
        """Spawn/connect, handshake and list the tools, all within `timeout_s`."""
        self._stop = asyncio.Event()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.ensure_future(self._serve(ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), timeout_s)
            return await asyncio.wait_for(self._list_tools(), timeout_s)
        except TimeoutError:
            await self._shutdown()
            raise TimeoutError(f"no answer within {timeout_s:g}s") from None
        except BaseException:
            await self._shutdown()
            raise

    async def _list_tools(self) -> list[mcp_types.Tool]:
        """`tools/list`, page by page."""
        tools: list[mcp_types.Tool] = []
        cursor = None
        for _ in range(MAX_LIST_PAGES):
            page = await self.client.list_tools(cursor=cursor)  # type: ignore[union-attr]
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    async def _shutdown(self) -> None:
        """Stop the serving task and wait (bounded) for the SDK's shutdown of the server."""
        if self._stop is not None:
            self._stop.set()
        if self._task is not None and not self._task.done():
            if self.client is None:  # still starting: nothing to wait for
                self._task.cancel()
            done, _ = await asyncio.wait({self._task}, timeout=_CLOSE_S)
            if not done:
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=_CLOSE_S)

    def log_tail(self) -> str:
        """The last line the server wrote to stderr during this start, for a one-line error."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            fh.seek(self._log_start)
            lines = [ln.strip() for ln in fh.read()[-4000:].splitlines() if ln.strip()]
        return lines[-1][:200] if lines else ""

    # -- calls --------------------------------------------------------------------------------
    async def _call(self, name: str, arguments: dict[str, Any], timeout_s: float) -> mcp_types.CallToolResult:
        if self.gone or self.client is None:
            raise ServerGone(self.gone or "it is not running")
        try:
            return await self.client.call_tool(name, arguments, read_timeout_seconds=timeout_s)
        except MCPError as exc:
            # The code also marks one lost HTTP answer ("SSE stream failed: ..."); only this
            # message says the whole connection is gone.
            if exc.code == mcp_types.CONNECTION_CLOSED and exc.message == "Connection closed":
                self.gone = "it closed the connection (exited or was killed)"
                self._reaper = asyncio.ensure_future(self._shutdown())  # reap it, off this call's path
                raise ServerGone(self.gone) from None
            if exc.code == mcp_types.REQUEST_TIMEOUT:
                raise TimeoutError(f"no answer within {timeout_s:g}s") from None
            raise

    def call(self, name: str, arguments: dict[str, Any], timeout_s: float) -> mcp_types.CallToolResult:
        """Blocking `tools/call` with a deadline; raises ServerGone, TimeoutError, MCPError, ...
        The SDK's own deadline (`timeout_s`) answers first; `_run`'s is the backstop."""
        if self.gone:
            raise ServerGone(self.gone)
        try:
            return _run(self._call(name, arguments, timeout_s), timeout_s + _HOP_S)
        except TimeoutError:
            raise TimeoutError(f"no answer within {timeout_s:g}s") from None


def start(spec: ServerSpec, log_dir: Path, timeout_s: float) -> ServerSession:
    """The running session for `spec`, started now or earlier in this process; its tools are
    listed once, at start. A server that will not start is a one-line TooltuneError."""
    with _start_lock:
        with _lock:
            known = _sessions.get(spec.key())
        if known is not None and not known.gone:
            return known
        log_dir.mkdir(parents=True, exist_ok=True)
        _quiet_sdk_logs(log_dir)
        log_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", spec.name).strip(".") + ".log"
        session = ServerSession(spec, log_dir / log_name if spec.transport == "stdio" else None)
        with _lock:  # known to close_all while it starts: a Ctrl-C now still stops the server
            _sessions[spec.key()] = session
        try:
            session.tools = _run(session._start(timeout_s), timeout_s * 2 + _CLOSE_S)  # a backstop
        except Exception as exc:  # _start has stopped the server already
            with _lock:
                _sessions.pop(spec.key(), None)
            raise TooltuneError(_start_failure(session, exc, timeout_s)) from None
        return session


def _run(coro: Any, timeout_s: float) -> Any:
    """Run `coro` on the loop and wait at most `timeout_s`; on a deadline or a Ctrl-C it is
    cancelled (for a call, the SDK then tells the server to stop the request)."""
    fut = asyncio.run_coroutine_threadsafe(coro, _get_loop())
    try:
        return fut.result(timeout_s)
    except concurrent.futures.TimeoutError:
        fut.cancel()
        raise TimeoutError(f"no answer within {timeout_s:g}s") from None
    except BaseException:
        fut.cancel()
        raise


def _start_failure(session: ServerSession, exc: Exception, timeout_s: float) -> str:
    """One line: which server, run how, what went wrong, its last stderr line, where its log is."""
    spec = session.spec
    timed_out = isinstance(_leaf(exc), (TimeoutError, concurrent.futures.TimeoutError))
    closed = isinstance(_leaf(exc), MCPError) and _leaf(exc).code == mcp_types.CONNECTION_CLOSED  # type: ignore[attr-defined]
    why = f"no answer to initialize and tools/list within {timeout_s:g}s" if timed_out else describe_error(exc)
    why = "it closed the connection before answering (did it exit?)" if closed else why
    tail = session.log_tail()
    text = f"MCP server {spec.name!r} ({spec.describe()}) did not start: {why}"
    text += f"; its last stderr line: {tail}" if tail else ""
    text += f"; full stderr in {session.log_path}" if session.log_path else "; is the URL right and the server up?"
    return " ".join(text.split())


def close_all() -> None:
    """Close every server this process started (bounded by the SDK's shutdown escalation).

    Safe to call more than once; servers are started again by the next `mcp_tools`."""
    with _lock:
        sessions = list(_sessions.values())
        _sessions.clear()
        loop = _loop
    if loop is None or not sessions or not loop.is_running():
        return

    async def close() -> None:
        await asyncio.gather(*(s._shutdown() for s in sessions), return_exceptions=True)

    fut = asyncio.run_coroutine_threadsafe(close(), loop)
    try:
        fut.result(_CLOSE_S * 2)
    except Exception:  # at exit, nothing more can be done about a server that will not stop
        fut.cancel()
    for s in sessions:
        s.gone = s.gone or "it was closed"


def default_log_dir() -> Path:
    """Where server stderr goes: $TOOLTUNE_CACHE_DIR, else $XDG_CACHE_HOME/tooltune, else
    ~/.cache/tooltune, then mcp/ (the same root as the weights cache)."""
    if os.environ.get("TOOLTUNE_CACHE_DIR"):
        root = Path(os.environ["TOOLTUNE_CACHE_DIR"]).expanduser()
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tooltune"
    return root / "mcp"
