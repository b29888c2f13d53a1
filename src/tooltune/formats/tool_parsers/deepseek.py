"""DeepSeek V3 / R1 / V3.1 / V3.2 calls between `<｜tool▁calls▁begin｜>` and `<｜tool▁calls▁end｜>`:

    V3, R1:  <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\\n```json\\n{…}\\n```<｜tool▁call▁end｜>
    V3.1+:   <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{…}<｜tool▁call▁end｜>

The special tokens use full-width bars and `▁`; their ASCII look-alikes are read too. R1's
reasoning (`<think>…</think>`) is split off before this parser runs."""

from __future__ import annotations

import re
from typing import Any

from tooltune.formats.base import Parsed
from tooltune.formats.parsing import ArgumentError, strip_fences
from tooltune.formats.tool_parsers.common import ToolParser, complete_json, make_call, result


def _token(words: str) -> str:
    return r"<[｜|]\s*" + r"[▁_ ]".join(words.split()) + r"\s*[｜|]>"


_SECTION = re.compile(_token("tool calls begin") + r"(.*?)(" + _token("tool calls end") + r"|$)", re.S)
_CALL = re.compile(_token("tool call begin") + r"(.*?)" + _token("tool sep") + r"(.*?)(" + _token("tool call end") + r"|(?=" + _token("tool call begin") + r")|$)", re.S)
_END_OF_SENTENCE = re.compile(_token("end of sentence"))


def parse(text: str, tools: list[dict[str, Any]]) -> Parsed:
    text = _END_OF_SENTENCE.split(text)[0]
    section = _SECTION.search(text)
    if section is None:
        return result([], text)
    calls = []
    for match in _CALL.finditer(section.group(1)):
        head, body, closed = match.group(1).strip(), match.group(2), bool(match.group(3))
        if head == "function" and "\n" in body.strip():  # V3/R1: type, then name + fenced JSON
            name, _, args = body.strip().partition("\n")
        else:
            name, args = head, body
        try:
            value = complete_json(strip_fences(args)) if args.strip() else {}
        except ArgumentError as exc:
            what = "cut off" if not closed else "not valid JSON"
            return Parsed("invalid", error=f"arguments of {name.strip()} are {what}: {exc}")
        calls.append(make_call(name.strip(), value, tools))
    if not calls:
        return Parsed("invalid", error="tool calls section with no complete call (cut off?)")
    return result(calls, text[:section.start()] + text[section.end():])


PARSER = ToolParser("deepseek", parse, ("tool▁calls▁begin",), ("tool▁calls▁begin", "tool▁call▁begin"))
