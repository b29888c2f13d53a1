"""Tolerant pieces shared by the parsers: JSON that models break, and tool names they mangle.

Order of attempts matters: strict JSON first (so valid input is never "repaired" into something
else), then Python literals (`True`, `None`, single quotes), then a maintained JSON repair
library on a copy with full-width punctuation normalised. Both libraries are optional here: the
exported vLLM plugin carries this module into an environment that may have neither (without
json_repair that last repair is skipped; without rapidfuzz the same similarity is computed here).

Whatever a model writes, these never raise anything but ArgumentError and take time roughly
linear in the input: nesting deeper than MAX_DEPTH is refused before any decoder recurses into
it, the (pure-Python, slower) repair library only sees inputs up to MAX_REPAIR_CHARS, and every
decoded value is made JSON-serialisable (`...` -> "...", tuples -> lists, NaN -> "nan").
"""

from __future__ import annotations

import ast
import json
import math
import re
import warnings
from typing import Any

try:
    import json_repair
except ImportError:  # the exported vLLM plugin runs this module where only the stdlib is sure
    json_repair = None
try:
    from rapidfuzz.fuzz import ratio
except ImportError:
    ratio = None

from tooltune.toolspec import tool_names, tool_params  # noqa: F401  (the spec accessors, re-exported for the parsers)

_FENCE = re.compile(r"^\s*```[\w-]*\s*\n?(.*?)\n?\s*```", re.S)
_FULLWIDTH = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "：": ":", "，": ",", "｛": "{", "｝": "}", "【": "[", "】": "]"})
END_MARKERS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>", "<|end|>")
MAX_DEPTH = 64  # tool arguments nest a few levels; thousands of `[` are degenerate output
MAX_REPAIR_CHARS = 20_000  # json_repair takes ~1 s on 200 kB: larger broken JSON stays broken
_OPENERS = re.compile(r"[\[{(]")
_NESTING = re.compile(r'"(?:[^"\\]|\\.)*"|[\[{(]|[\]})]')


class ArgumentError(ValueError):
    pass


_PLAIN_NAME = re.compile(r"[\w.\-:]{1,80}")


def cut_off_report(raw_name: str | None, what: str) -> str:
    """How a cut-off call is reported (`Parsed.truncated`): `NAME: what`, the name as written
    when it is a plain identifier, quoted otherwise (it is model output), left out when the
    completion stopped before it."""
    name = (raw_name or "").strip()
    if not name:
        return what
    return f"{name if _PLAIN_NAME.fullmatch(name) else repr(name[:60])}: {what}"


def strip_fences(text: str) -> str:
    match = _FENCE.search(text)
    return match.group(1) if match else text


def strip_end_markers(text: str) -> str:
    for marker in END_MARKERS:
        text = text.split(marker)[0]
    return text.strip()


def nesting_depth(text: str) -> int:
    """How deep brackets nest outside double-quoted strings (a cheap guard, one regex pass)."""
    if len(_OPENERS.findall(text)) <= MAX_DEPTH:
        return 0
    depth = deepest = 0
    for token in _NESTING.findall(text):
        if token in "[{(":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]})":
            depth = max(depth - 1, 0)
    return deepest


def loads_lenient(text: str) -> Any:
    """Decode JSON the way a forgiving reader would; raise ArgumentError if nothing sensible comes out."""
    text = strip_fences(text).strip()
    if not text:
        raise ArgumentError("empty")
    if nesting_depth(text) > MAX_DEPTH:
        raise ArgumentError(f"nested more than {MAX_DEPTH} levels deep")
    try:
        return to_jsonable(json.loads(text))
    except (ValueError, RecursionError):  # JSONDecodeError, or an integer too long to convert
        pass
    try:
        return to_jsonable(literal_eval_quiet(text))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    for candidate in (text, text.translate(_FULLWIDTH)) if json_repair is not None else ():
        if candidate.lstrip()[:1] not in "{[" or len(candidate) > MAX_REPAIR_CHARS:
            continue
        try:
            value = json_repair.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if value not in ("", None):
            return to_jsonable(value)
    raise ArgumentError(f"not valid JSON: {text[:60]!r}")


def literal_eval_quiet(text: str) -> Any:
    """`ast.literal_eval` without the SyntaxWarnings a model's `\\s` or `\\d` would print."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.literal_eval(text)


def to_jsonable(value: Any) -> Any:
    """A decoded value as plain JSON data: Python literals can hold `...`, tuples, sets, bytes,
    complex numbers and NaN, none of which the result's JSON (or a tool) can take."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is Ellipsis:
        return "..."
    return str(value)


def decode_arguments(raw: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Turn what the model gave as arguments into a dict, given the tool's JSON Schema."""
    props = list((params or {}).get("properties", {}))
    required = list((params or {}).get("required", []))
    # A bare value fills the tool's only parameter, or its only required one.
    sole = props[0] if len(props) == 1 else (required[0] if len(required) == 1 else None)
    if isinstance(raw, str):
        stripped = strip_fences(raw).strip()
        if not stripped:
            return {}
        try:
            raw = loads_lenient(stripped)
        except ArgumentError:
            if sole:  # a bare string for a one-parameter tool
                return {sole: stripped.strip("\"'“”")}
            raise
        if isinstance(raw, str):  # double-encoded: "{\"a\": 1}"
            try:
                raw = loads_lenient(raw)
            except ArgumentError:
                pass
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    if sole:
        return {sole: raw}
    raise ArgumentError(f"arguments must be a JSON object, got {type(raw).__name__}")


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name).lower()


def resolve_tool_name(raw: str, tool_names: list[str]) -> str | None:
    """Map what the model wrote (`[Calculator]`, `` `calc_tool` ``, `"web search"`) to a real tool
    name, or None if it names no tool. Fuzzy matching is strict so invented tools stay invented."""
    name = raw.strip().strip("[]`\"'“”‘’*()<>:：.,。 ").strip()
    if name in tool_names:
        return name
    lowered = {n.lower(): n for n in tool_names}
    if name.lower() in lowered:
        return lowered[name.lower()]
    squashed = {_squash(n): n for n in tool_names}
    if _squash(name) in squashed:
        return squashed[_squash(name)]
    if tool_names and name:
        wanted = _squash(name)
        score, best = max(((similarity(wanted, n), n) for n in squashed), key=lambda pair: pair[0])
        if score >= 88:
            return squashed[best]
    return None


def similarity(a: str, b: str) -> float:
    """rapidfuzz's `fuzz.ratio` (0-100: twice the longest common subsequence over both lengths),
    from rapidfuzz when it is installed, else computed here (tool names are short)."""
    if ratio is not None:
        return ratio(a, b)
    if not a and not b:
        return 100.0
    row = [0] * (len(b) + 1)
    for ca in a:
        prev_diag = 0
        for j, cb in enumerate(b, 1):
            prev_diag, row[j] = row[j], prev_diag + 1 if ca == cb else max(row[j], row[j - 1])
    return 200.0 * row[-1] / (len(a) + len(b))


def unknown_tool_error(raw: str, tools: list[dict[str, Any]]) -> str:
    return f"unknown tool {raw.strip()!r}; available tools: {', '.join(tool_names(tools)) or '(none)'}"
