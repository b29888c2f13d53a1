"""Block boundaries found JSON-aware: a marker inside a call's string argument is text.

A call such as `{"note": "wrap calls in <tool_call></tool_call>"}` holds its format's own
markers inside a string; a plain `str.find` would end the block there and split the call. Inside
a call body the boundary is looked for *outside* string literals: JSON's double-quoted strings,
and the single-quoted Python strings models write in value position (`{'city': 'Paris'}`).
Families with their own string delimiters (Gemma's `<|"|>`, FunctionGemma's `<escape>`) pass
them instead. Prose around calls is never scanned this way: a stray quote in a sentence must
not hide the next call.

The scan is one regex pass with possessive quantifiers (no backtracking), so it stays linear in
the text; a string that never closes ends the scan (everything after it is inside the string),
which is how a cut-off completion is recognised.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from collections.abc import Callable
from typing import Literal, NamedTuple

DOUBLE_QUOTED = r'"(?:[^"\\]++|\\.)*+"'  # JSON's own strings only
JSON_STRINGS = DOUBLE_QUOTED + r'|(?<=[{\[,:(=\s])' + r"'(?:[^'\\\n]++|\\.)*+'"
JSON_STRING_OPENERS = r'"|(?<=[{\[,:(=\s])' + "'"
# Every family's string values, for a reader that does not know the family (the reasoning
# split): JSON strings, GLM's <arg_value>, Qwen3-Coder's <parameter=…>, FunctionGemma's
# <escape>, Gemma 4's <|"|>, DeepSeek DSML parameters and Kimi K3 arguments.
FAMILY_STRINGS = "|".join([
    JSON_STRINGS, r"<arg_value>.*?</arg_value>", r"<parameter=[^>\n]*>.*?</parameter>", r"<escape>.*?<escape>",
    r'<\|"\|>.*?<\|"\|>', r"<[｜|]DSML[｜|]parameter\b[^>]*>.*?</[｜|]DSML[｜|]parameter>",
    r"<\|open\|>\s*argument\b.*?<\|close\|>\s*argument\s*<\|sep\|>",
])
FAMILY_STRING_OPENERS = JSON_STRING_OPENERS + r'|<arg_value>|<escape>|<\|"\|>'

How = Literal["marker", "closed", "open_string", "end"]


@dataclass
class Scan:
    """Where a scan stopped: at a `marker` outside strings (`match` holds it), where the value
    that began at the start `closed` (brackets back to depth 0), inside a string that never
    closes (`open_string`: the rest of the text is that string), or at the `end` of the text."""

    how: How
    end: int
    match: re.Match[str] | None = None
    depth: int = 0  # brackets still open where it stopped
    brackets: str = ""  # which ones, outermost first (counted with `brackets` or `until_closed`)
    opened: int = -1  # where the string that never closes begins (`open_string`)

    @property
    def cut_off(self) -> bool:
        """The text ran out inside a string or with brackets open: a value cut off mid-way."""
        return self.how == "open_string" or (self.how == "end" and self.depth > 0)


@functools.lru_cache(maxsize=64)
def _pattern(markers: str, strings: str, openers: str, brackets: bool) -> re.Pattern[str]:
    parts = [f"(?P<s>{strings})"]
    if markers:
        parts.append(f"(?P<m>{markers})")
    if brackets:
        parts += [r"(?P<o>[\[{(])", r"(?P<c>[\]})])"]
    parts.append(f"(?P<u>{openers})")
    return re.compile("|".join(parts), re.S)


def scan(text: str, pos: int = 0, markers: str = "", until_closed: bool = False, brackets: bool = False,
         strings: str = JSON_STRINGS, openers: str = JSON_STRING_OPENERS) -> Scan:
    """Scan `text` from `pos` for the first `markers` (a regex) outside string literals; with
    `until_closed`, stop too where the value starting at `pos` closes; `brackets` counts the
    brackets left open (`Scan.depth`) without stopping."""
    pattern = _pattern(markers, strings, openers, until_closed or brackets)
    depth, stack = 0, []
    for match in pattern.finditer(text, pos):
        kind = match.lastgroup
        if kind == "m":
            return Scan("marker", match.start(), match, depth, "".join(stack))
        if kind == "u":
            return Scan("open_string", len(text), None, depth, "".join(stack), match.start())
        if kind == "o":
            depth += 1
            stack.append(match.group())
        elif kind == "c":
            depth -= 1
            if stack:
                stack.pop()
            if until_closed and depth <= 0:
                return Scan("closed", match.end(), None, 0)
        elif kind == "s" and until_closed and depth == 0:
            return Scan("closed", match.end(), None, 0)  # the value was a lone string
    return Scan("end", len(text), None, depth, "".join(stack))


def json_cut_off(text: str) -> bool:
    """True when JSON(-like) text stops inside a string or with brackets still open."""
    return scan(text, 0, brackets=True).cut_off


_SEPARATORS = re.compile(r"[\s;,]*+")


def json_values(text: str, pos: int) -> tuple[list[str], int, bool]:
    """The complete JSON(-like) values from `pos` on (separated by whitespace, `;` or `,`), where
    the text after them starts, and whether the text ends inside one more value."""
    values: list[str] = []
    while pos < len(text) and text[pos] in "{[":
        value = scan(text, pos, until_closed=True)
        if value.how != "closed":
            return values, pos, True
        values.append(text[pos:value.end])
        pos = _SEPARATORS.match(text, value.end).end()  # type: ignore[union-attr]
    return values, pos, False


def partial_marker_at_end(text: str, marker: str, min_len: int = 2) -> bool:
    """True when `text` ends with the beginning of `marker` (a completion cut inside it)."""
    tail = text.rstrip()
    return any(tail.endswith(marker[:n]) for n in range(min_len, len(marker)))


class Block(NamedTuple):
    """One call block: where it starts and ends in the text, its body, and whether it closed."""

    start: int
    end: int
    body: str
    closed: bool


def _json_complete(body: str) -> bool:
    return not json_cut_off(body)


def find_blocks(text: str, opener: re.Pattern[str], closer: str, stops: str = "",
                complete: Callable[[str], bool] = _json_complete, start: int = 0, **strings: str) -> list[Block]:
    """Every block that starts at `opener` (found in prose by a plain search) and ends at
    `closer`, found outside the body's strings. A block that runs into one of `stops` (the next
    block's opener, the end of a section) before its closer counts as closed only when its body
    is `complete`; one that runs to the end of the text was cut off (`closed=False`). The
    search starts at `start`."""
    out: list[Block] = []
    pos = start
    closer_re = re.compile(closer)
    while (start := opener.search(text, pos)) is not None:
        found = scan(text, start.end(), f"{closer}|{stops}" if stops else closer, **strings)  # type: ignore[arg-type]
        if found.match is None:
            out.append(Block(start.start(), len(text), text[start.end():], False))
            break
        body = text[start.end():found.end]
        if closer_re.fullmatch(found.match.group()):
            out.append(Block(start.start(), found.match.end(), body, True))
            pos = found.match.end()
        else:
            out.append(Block(start.start(), found.end, body, complete(body)))
            pos = max(found.end, start.end())
    return out
