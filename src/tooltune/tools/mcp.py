"""MCP (Model Context Protocol) servers as a source of tools, through the official `mcp` SDK.

    specs = [parse_mcp_source("mcp:stdio:uvx mcp-server-time"), *load_mcp_config("mcp.json")]
    tools = mcp_tools(specs, execute=False)        # list[Tool], ready for a ToolRegistry

Each server is started once per process and held by a background event loop (`mcp_session`);
its tools become plain `Tool`s whose calls are `tools/call` requests with a deadline. What a
server answers (text, structured content, an `isError` result) is an observation for the model;
a server that times out, dies or closes gives an error observation, never an exception.

Safety: MCP's tool annotations are hints whose defaults are the cautious ones (`readOnlyHint`
false, `destructiveHint` true), so a tool counts as read-only only when the server says
`readOnlyHint: true`. Every other tool `changes_state`, and its calls are sent only with
`execute=True` (the CLI's --execute) or when `confirm(name, arguments)` says yes; otherwise the
model is told which call was held back and why.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shlex
import sys
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import mcp_types

from tooltune.errors import TooltuneError
from tooltune.tools.mcp_session import ServerGone, ServerSession, ServerSpec, close_all, default_log_dir, describe_error, start
from tooltune.tools.tool import Tool, ToolResult

__all__ = ["MCPTool", "ServerSpec", "close_all", "load_mcp_config", "mcp_tools", "parse_mcp_source", "sanitize_name"]

MAX_OBSERVATION_CHARS = 100_000  # a 5 MB file dump would drown any model's context
_NAME_OK = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what OpenAI-style tool names allow
_SOURCE_FORMS = "mcp:stdio:COMMAND [ARGS...] or mcp:http://HOST:PORT/PATH (streamable HTTP)"
# Launchers that say nothing about which server runs: the server's name is the next word.
_LAUNCHERS = {"python", "python3", "uv", "uvx", "npx", "node", "bun", "bunx", "deno", "pipx", "docker", "run", "exec", "tool"}


@dataclass
class MCPTool(Tool):
    """A Tool served by an MCP server: where it lives, its remote name, what it promises."""

    server: str = ""
    remote_name: str = ""  # the server's own name for it (may be non-ASCII or clash)
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None

    def validate(self, arguments: dict[str, Any]) -> str | None:
        """A server's schema that jsonschema cannot compile must not make `invoke` raise:
        the server validates the arguments itself."""
        try:
            return super().validate(arguments)
        except jsonschema.SchemaError:
            return None


# -- where servers are --------------------------------------------------------------------------
def parse_mcp_source(text: str, name: str | None = None) -> ServerSpec:
    """`mcp:stdio:COMMAND [ARGS...]` (split like a shell would) or `mcp:http(s)://URL`."""
    body = text.strip()
    if not body.startswith("mcp:"):
        raise TooltuneError(f"{text!r} is not an MCP source: write {_SOURCE_FORMS}")
    rest = body[len("mcp:"):]
    if rest.startswith(("http://", "https://")):
        return ServerSpec(name=name or _name_from_url(rest, text), url=_checked_url(rest, text))
    if rest.startswith("stdio:"):
        try:
            argv = shlex.split(rest[len("stdio:"):])
        except ValueError as exc:
            raise TooltuneError(f"cannot split the command in {text!r}: {exc}; check its quotes") from None
        if not argv:
            raise TooltuneError(f"{text!r} names no command: write mcp:stdio:COMMAND [ARGS...], e.g. mcp:stdio:uvx mcp-server-time")
        return ServerSpec(name=name or _name_from_command(argv), command=argv[0], args=tuple(argv[1:]))
    raise TooltuneError(f"unknown MCP transport in {text!r}: write {_SOURCE_FORMS}")


def load_mcp_config(path: str | Path) -> list[ServerSpec]:
    """Servers from the desktop clients' file: {"mcpServers": {NAME: {"command", "args", "env"}
    or {"url"}}}. Entries with "disabled": true are skipped, as those clients do."""
    p = Path(path).expanduser()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TooltuneError(f"MCP config {p} does not exist: give the path of an mcpServers JSON file") from None
    except json.JSONDecodeError as exc:
        raise TooltuneError(f"MCP config {p} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TooltuneError(f"cannot read MCP config {p}: {exc}") from None
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        raise TooltuneError(f'MCP config {p} needs {{"mcpServers": {{NAME: {{"command": ..., "args": [...]}} or {{"url": ...}}}}}}')
    return [_config_entry(p, str(name), entry) for name, entry in servers.items() if not (isinstance(entry, dict) and entry.get("disabled") is True)]


def _config_entry(path: Path, name: str, entry: Any) -> ServerSpec:
    """One mcpServers entry, each mistake named with the server and the fix."""
    where = f"MCP config {path}, server {name!r}"
    if not isinstance(entry, dict) or ("command" in entry) == ("url" in entry):
        raise TooltuneError(f'{where}: give either "command" (with optional "args", "env") or "url"')
    kind = entry.get("type", "stdio" if "command" in entry else "http")
    if kind == "sse":
        raise TooltuneError(f"{where}: the old SSE transport is not supported; use the server's streamable HTTP URL")
    if "url" in entry:
        if not isinstance(entry["url"], str):
            raise TooltuneError(f'{where}: "url" must be a string like "http://127.0.0.1:8000/mcp"')
        return ServerSpec(name=name, url=_checked_url(entry["url"], where))
    command, args, env, cwd = entry["command"], entry.get("args", []), entry.get("env", {}), entry.get("cwd")
    if not isinstance(command, str) or not command.strip():
        raise TooltuneError(f'{where}: "command" must be a non-empty string (the program to run)')
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise TooltuneError(f'{where}: "args" must be a list of strings')
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise TooltuneError(f'{where}: "env" must map names to strings (quote numbers: "PORT": "8080")')
    if cwd is not None and not isinstance(cwd, str):
        raise TooltuneError(f'{where}: "cwd" must be a string')
    return ServerSpec(name=name, command=command, args=tuple(args), env=dict(env), cwd=cwd)


def _checked_url(url: str, where: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TooltuneError(f"{where}: {url!r} is not an http(s) URL; write e.g. mcp:http://127.0.0.1:8000/mcp")
    return url


def _name_from_command(argv: list[str]) -> str:
    """`uvx mcp-server-time` -> mcp-server-time; `python -m mcp_server_git ...` -> mcp_server_git."""
    for word in argv:
        if word == "-c":  # `python -c CODE`: the code is no name
            break
        stem = re.sub(r"\.(py|js|mjs|ts)$", "", Path(word).name).split("@")[0]
        if word.startswith("-") or not stem or re.fullmatch(r"python[0-9.]*", stem) or stem in _LAUNCHERS:
            continue
        return sanitize_name(stem)
    return sanitize_name(Path(argv[0]).name)


def _name_from_url(url: str, text: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        raise TooltuneError(f"{text!r} has no host: write e.g. mcp:http://127.0.0.1:8000/mcp")
    return sanitize_name(f"{parts.hostname}_{parts.port}" if parts.port else parts.hostname)


# -- names --------------------------------------------------------------------------------------
def sanitize_name(name: str) -> str:
    """A name OpenAI-style APIs accept: accents folded (météo -> meteo), every other character
    outside [A-Za-z0-9_-] made '_', at most 64 characters. A name with nothing left (天気) or
    cut short gets a hash of the original, so two such names stay apart."""
    if _NAME_OK.match(name):
        return name
    folded = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    clean = re.sub(r"[^A-Za-z0-9_-]+", "_", folded)
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    if not re.search(r"[A-Za-z0-9]", clean):
        return f"tool_{digest}"
    return clean if len(clean) <= 64 else f"{clean[:55]}_{digest}"


def _local_names(listed: list[tuple[str, list[str]]]) -> dict[tuple[str, str], str]:
    """(server, remote tool name) -> the tool's name here. A name two tools would share is
    prefixed with the server's (`server__tool`); each rename is told on one line of stderr."""
    wanted = {(srv, n): sanitize_name(n) for srv, names in listed for n in names}
    count = Counter(wanted.values())
    out: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for (srv, remote), name in wanted.items():
        clash = count[name] > 1
        if clash:
            name = sanitize_name(f"{srv}__{remote}")
        base, n = name, 2
        while name in taken:
            name, n = sanitize_name(f"{base}_{n}"), n + 1
        taken.add(name)
        out[(srv, remote)] = name
        if name != remote:
            why = "another tool has that name" if clash else "tool names allow only A-Z a-z 0-9 _ -, at most 64"
            print(f"tooltune: MCP tool {remote!r} of server {srv!r} is called {name!r} here ({why})", file=sys.stderr)
    return out


def _unique_servers(specs: Iterable[ServerSpec]) -> list[ServerSpec]:
    """Two servers given the same name (two `uvx X` with other args) get name, name_2, ..."""
    seen: set[str] = set()
    out = []
    for spec in specs:
        name, n = spec.name, 2
        while name in seen:
            name, n = f"{spec.name}_{n}", n + 1
        seen.add(name)
        out.append(spec if name == spec.name else replace(spec, name=name))
    return out


# -- tools --------------------------------------------------------------------------------------
def mcp_tools(
    specs: list[ServerSpec],
    *,
    execute: bool = False,
    confirm: Callable[[str, dict[str, Any]], bool] | None = None,
    timeout_s: float = 30.0,
    log_dir: str | Path | None = None,
) -> list[Tool]:
    """Start each server (once per process), list its tools, and wrap them as `Tool`s.

    `timeout_s` bounds the start (initialize + tools/list) and every call. Stdio servers'
    stderr goes to `log_dir/<server>.log` (default ~/.cache/tooltune/mcp/). A server that will
    not start is a one-line TooltuneError naming it, its command and its log file."""
    root = Path(log_dir).expanduser() if log_dir is not None else default_log_dir()
    running = [(spec, start(spec, root, timeout_s)) for spec in _unique_servers(specs)]
    names = _local_names([(spec.name, [t.name for t in session.tools]) for spec, session in running])
    gate = _Gate(execute, confirm)
    return [
        _make_tool(spec.name, session, remote, names[(spec.name, remote.name)], gate, timeout_s)
        for spec, session in running
        for remote in session.tools
    ]


def _make_tool(server: str, session: ServerSession, remote: mcp_types.Tool, name: str, gate: _Gate, timeout_s: float) -> MCPTool:
    """The Tool for one listed MCP tool. It runs `inline`: its own call has a deadline (the SDK's
    and a backstop), and a Ctrl-C then reaches the waiting thread and cancels the request."""
    hints = remote.annotations
    changes_state = not (hints is not None and hints.read_only_hint is True)
    params = copy.deepcopy(remote.input_schema) if isinstance(remote.input_schema, dict) else {}
    params.setdefault("type", "object")
    params.setdefault("properties", {})

    def call(**arguments: Any) -> ToolResult:
        if changes_state and not gate.allows(name, arguments):
            return ToolResult(name, _held_back(name, arguments), True)
        try:
            result = session.call(remote.name, arguments, timeout_s)
        except ServerGone as exc:
            log = f" (its log: {session.log_path})" if session.log_path else ""
            return ToolResult(name, f"error: MCP server {server!r} has stopped: {exc}{log}. Its tools cannot be used any more in this run.", True)
        except TimeoutError:
            return ToolResult(name, f"error: {name} timed out after {timeout_s:g}s; the call was cancelled", True)
        except Exception as exc:  # a protocol error (unknown tool, bad params) or a bad result
            return ToolResult(name, f"error: {describe_error(exc)}", True)
        return ToolResult(name, observation(result), bool(result.is_error))

    return MCPTool(
        name=name,
        description=remote.description or remote.title or remote.name,
        parameters=params,
        func=call,
        timeout_s=timeout_s,
        time_sensitive=True,  # a server's answer may change any time (git status): never reused
        inline=True,
        changes_state=changes_state,
        server=server,
        remote_name=remote.name,
        output_schema=copy.deepcopy(remote.output_schema),
        annotations=hints.model_dump(by_alias=True, exclude_none=True) if hints is not None else None,
    )


class _Gate:
    """Whether a state-changing call may run: always with --execute, else if `confirm` says yes.
    Confirmations are asked one at a time (parallel calls would interleave prompts)."""

    def __init__(self, execute: bool, confirm: Callable[[str, dict[str, Any]], bool] | None) -> None:
        self.execute, self.confirm, self._lock = execute, confirm, threading.Lock()

    def allows(self, name: str, arguments: dict[str, Any]) -> bool:
        if self.execute:
            return True
        if self.confirm is None:
            return False
        with self._lock:
            try:
                return self.confirm(name, arguments) is True
            except Exception:  # no terminal to ask (EOFError), a broken prompt: the answer is no
                return False


def _held_back(name: str, arguments: dict[str, Any]) -> str:
    call = f"{name}({json.dumps(arguments, ensure_ascii=False)})"
    return (
        f"not run: {call} may change state (its MCP server does not mark it read-only), and such "
        "calls run only when the user allows them (tooltune --execute, or confirming the call). "
        "Nothing was changed."
    )


# -- results ------------------------------------------------------------------------------------
def observation(result: mcp_types.CallToolResult) -> str:
    """The result as text for the model: its content blocks, then the structured content unless
    a text block already carries it (servers usually send both), cut at MAX_OBSERVATION_CHARS."""
    parts = [_block_text(block) for block in result.content]
    data = result.structured_content
    if data is not None and not any(_same_json(p, data) for p in parts):
        parts.append(json.dumps(data, ensure_ascii=False))
    text = "\n".join(p for p in parts if p)
    if not text:
        text = "error: the tool failed and gave no message" if result.is_error else "(no output)"
    if len(text) > MAX_OBSERVATION_CHARS:
        text = text[:MAX_OBSERVATION_CHARS] + f"\n[cut: the result has {len(text):,} characters; the first {MAX_OBSERVATION_CHARS:,} are shown]"
    return text


def _block_text(block: Any) -> str:
    """Text as it is; other media named, not inlined (base64 means nothing to the model)."""
    if isinstance(block, mcp_types.TextContent):
        return block.text
    if isinstance(block, (mcp_types.ImageContent, mcp_types.AudioContent)):
        return f"[{block.type}: {block.mime_type}, {len(block.data) * 3 // 4:,} bytes, not shown]"
    if isinstance(block, mcp_types.ResourceLink):
        return f"[resource link: {block.uri} ({block.name})]"
    if isinstance(block, mcp_types.EmbeddedResource):
        res = block.resource
        if isinstance(res, mcp_types.TextResourceContents):
            return res.text
        return f"[resource {res.uri}: {res.mime_type or 'binary'}, not shown]"
    return json.dumps(block.model_dump(mode="json", exclude_none=True), ensure_ascii=False)


def _same_json(text: str, data: Any) -> bool:
    """Whether a text block already says what the structured content says: its JSON, or the
    value of {"result": ...}, which is how the SDK wraps a tool's non-object return value."""
    wrapped = data["result"] if isinstance(data, dict) and list(data) == ["result"] else _NOTHING
    if text == wrapped:
        return True
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return value in (data, wrapped)


_NOTHING = object()
