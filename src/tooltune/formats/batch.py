"""`tooltune parse --jsonl`: one JSON result line for every input line, whatever the line holds.

A batch of completions must never die on one bad line (deep nesting, invalid UTF-8, a lone
surrogate, a line that is not an object…): each line becomes a result, `invalid` with a reason
naming the line where nothing can be read, and output is always printable UTF-8.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.toolspec import has_name

EXPECTED = 'expected {"format", "text", "tools"[, "tool_parser"]}'


_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def dumps_line(obj: Any) -> str:
    """JSON text that any UTF-8 stream can carry, on exactly one line even for readers that split
    on Unicode line breaks (`str.splitlines`): lone surrogates (which UTF-8 cannot encode) and
    U+0085/U+2028/U+2029 are written as their JSON escapes, which read back to the same string."""
    text = json.dumps(obj, ensure_ascii=False).translate(_LINE_BREAKS)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def decode_lines(raw: Iterable[bytes | str]) -> Iterator[str]:
    """Input lines as text; bytes that are not UTF-8 become U+FFFD instead of stopping the batch."""
    for line in raw:
        yield line.decode("utf-8", "replace") if isinstance(line, bytes) else line


def _invalid(lineno: int, why: str) -> dict[str, Any]:
    return {"kind": "invalid", "error": f"line {lineno}: {why}"}


def _check_tools(tools: Any) -> str | None:
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        return "'tools' must be a list of OpenAI tool objects"
    for t in tools:
        if not has_name(t):
            return "each tool needs a 'name' (or 'function': {'name': …})"
    return None


def parse_line(line: str, lineno: int, defaults: dict[str, Any], get_parser: Callable[..., Any]) -> dict[str, Any]:
    """One input line -> one result object. `defaults` holds format/tools/tool_parser from the
    command line; `get_parser(format, tool_parser)` builds the format (may raise TooltuneError)."""
    if not line.strip():
        return _invalid(lineno, f"empty line; {EXPECTED}")
    try:
        item = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return _invalid(lineno, f"not JSON ({str(exc)[:80]}); {EXPECTED}")
    if not isinstance(item, dict):
        return _invalid(lineno, f"a line must be a JSON object, got {type(item).__name__}; {EXPECTED}")
    text = item.get("text")
    if not isinstance(text, str):
        return _invalid(lineno, f"'text' must be a string (the completion); {EXPECTED}")
    tools = item["tools"] if item.get("tools") is not None else defaults["tools"]
    if (problem := _check_tools(tools)) is not None:
        return _invalid(lineno, problem)
    parser_name = item.get("tool_parser", defaults.get("tool_parser"))
    # A line naming a family's parser but no format means the native format it belongs to.
    fmt_name = item.get("format", "native" if "tool_parser" in item and item["tool_parser"] is not None else defaults["format"])
    if not isinstance(fmt_name, str) or not (parser_name is None or isinstance(parser_name, str)):
        return _invalid(lineno, "'format' and 'tool_parser' must be strings")
    try:
        return get_parser(fmt_name, parser_name).parse(text, tools).to_json()
    except TooltuneError as exc:
        return _invalid(lineno, str(exc))
    except Exception as exc:  # the parsers never raise; if one does, the batch still goes on
        return _invalid(lineno, f"parser bug ({type(exc).__name__}: {str(exc)[:80]}); please report it with this line")
