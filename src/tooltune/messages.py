"""The one canonical sample format: OpenAI chat messages plus the `tools` list.

Everything in tooltune (formats, agent, store, training, evaluation) reads and writes these
dataclasses, and they serialise to exactly the JSON an OpenAI-compatible API uses, so a sample
can be sent to any server or saved as a JSONL line without a conversion step.
A step's thought lives in `reasoning_content` (the field vLLM and DeepSeek use), so the
visible `content` of a final answer stays clean.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.toolspec import function_of

ROLES = ("system", "user", "assistant", "tool")


def new_call_id() -> str:
    """`call_` + 12 random hex digits: what `uuid4().hex[:12]` gave, without building a UUID
    (every parsed call gets one, so this is on the agent's per-step path)."""
    return "call_" + os.urandom(6).hex()


@dataclass
class ToolCall:
    """One request to run a tool; `arguments` is already a decoded dict."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_call_id)

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": json.dumps(self.arguments, ensure_ascii=False)},
        }

    @classmethod
    def from_openai(cls, data: dict[str, Any]) -> ToolCall:
        fn = function_of(data)
        args = fn.get("arguments", {})
        if isinstance(args, str):
            args = json.loads(args) if args.strip() else {}
            if isinstance(args, str):  # double-encoded
                args = json.loads(args)
        return cls(name=fn["name"], arguments=args or {}, id=data.get("id") or new_call_id())


@dataclass
class Message:
    """One chat message in OpenAI shape."""

    role: str
    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    reasoning_content: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise TooltuneError(f"unknown message role {self.role!r}: use one of {', '.join(ROLES)}")

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            out["name"] = self.name
        if self.reasoning_content:
            out["reasoning_content"] = self.reasoning_content
        return out

    @classmethod
    def from_openai(cls, data: dict[str, Any]) -> Message:
        if "role" not in data:
            raise TooltuneError(f"message without a 'role': {json.dumps(data)[:80]}")
        content = data.get("content")
        if isinstance(content, list):  # OpenAI content parts: keep the text parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return cls(
            role=data["role"],
            content=content,
            tool_calls=[ToolCall.from_openai(c) for c in data.get("tool_calls") or []],
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
            reasoning_content=data.get("reasoning_content") or data.get("reasoning"),  # vLLM's newer name
        )

    @property
    def text(self) -> str:
        return self.content or ""


@dataclass
class Sample:
    """A conversation plus the tools it may call: the unit of corpus, training and evaluation."""

    messages: list[Message]
    tools: list[dict[str, Any]] = field(default_factory=list)

    def to_openai(self) -> dict[str, Any]:
        return {"messages": [m.to_openai() for m in self.messages], "tools": self.tools}

    @classmethod
    def from_openai(cls, data: dict[str, Any]) -> Sample:
        if not isinstance(data.get("messages"), list):
            raise TooltuneError("a sample needs a 'messages' list (OpenAI chat format)")
        return cls([Message.from_openai(m) for m in data["messages"]], list(data.get("tools") or []))

    def to_json(self) -> str:
        return json.dumps(self.to_openai(), ensure_ascii=False)


@dataclass(frozen=True)
class BadLine:
    """A JSONL line that is not JSON: where it is (`offset`: its first byte) and why. `torn`: it
    is the file's last line and has no newline, which is what a crash mid-append leaves."""

    path: Path
    lineno: int
    reason: str
    offset: int
    torn: bool = False

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: not valid JSON ({self.reason})"

    def error(self, fix: str = "fix or delete that line") -> TooltuneError:
        return TooltuneError(f"{self}: {fix}")


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """The one JSONL reader: (line number, value) for every non-blank line, where the value of a
    line that is not UTF-8 JSON is a `BadLine`.

    One policy for a bad line: it is always reported with its path and line, never skipped
    silently. What happens next is the caller's and follows from what the file is: a file that
    must be whole (a corpus, eval items, pairs: `read_jsonl`) stops at the first; an import with
    `--on-error skip` reports each and goes on; an append-only log (eval results) cuts off a torn
    last line, the one a crash can leave, and stops at any other."""
    path = Path(path)
    if not path.is_file():
        raise TooltuneError(f"{path}: no such file")
    offset = 0
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                yield lineno, json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield lineno, BadLine(path, lineno, f"not UTF-8 at byte {exc.start}", start, not raw.endswith(b"\n"))
            except (json.JSONDecodeError, RecursionError) as exc:
                reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                yield lineno, BadLine(path, lineno, reason, start, not raw.endswith(b"\n"))


def read_append_log(path: str | Path, fix: str) -> list[Any]:
    """The rows of an append-only log (eval results, training segments), ready for the next
    append: a torn last line (a crash mid-write) is cut off, a whole last line missing only its
    newline is kept and ended; any other bad line is a one-line error naming `fix`, since skipping
    it would silently lose what it recorded."""
    path = Path(path)
    if not path.exists():
        return []
    rows, torn = [], None
    for _, row in iter_jsonl(path):
        if isinstance(row, BadLine):
            if not row.torn:
                raise row.error(fix)
            torn = row
        else:
            rows.append(row)
    size = path.stat().st_size
    with path.open("r+b") as fh:
        if torn is not None:
            fh.truncate(torn.offset)
        elif size:
            fh.seek(size - 1)
            if fh.read(1) != b"\n":
                fh.write(b"\n")
    return rows


def read_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """`iter_jsonl` for a file that must be whole: a bad line is a one-line error."""
    for lineno, value in iter_jsonl(path):
        if isinstance(value, BadLine):
            raise value.error()
        yield lineno, value


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write through a temp file and rename, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
