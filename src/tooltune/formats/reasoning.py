"""Reasoning blocks (`<think>…</think>`) that reasoning models write before the answer or call.

Qwen3, DeepSeek-R1 distills, GLM-4.5 and Kimi K2 write their reasoning inside `<think>…</think>`
(Magistral: `[THINK]…[/THINK]`, Gemma 4: `<|channel>thought…<channel|>`, Kimi K3: its `think`
channel);
when the chat template already opened the block (Qwen3 with thinking on, R1 distills) only the
closing tag appears in the completion. The reasoning goes to the assistant message's
`reasoning_content` (vLLM's and DeepSeek's name), never to `content`; a call written inside it is
not a call; a completion that stops inside it is a truncated step, not an answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tooltune.formats.base import Parsed
from tooltune.formats.scan import FAMILY_STRING_OPENERS, FAMILY_STRINGS, scan

# `[THINK]…[/THINK]`: Mistral's Magistral writes its reasoning between these special tokens;
# Gemma 4 thinks in `<|channel>thought\n…<channel|>`, Kimi K3 in `<|open|>think<|sep|>…<|close|>think<|sep|>`.
_OPEN = re.compile(r"^\s*(?:<\s*think(?:ing)?\s*>|\[THINK\]|<\|channel>[ \t]*(?:thought\b)?|<\|open\|>\s*think\s*<\|sep\|>)", re.I)
_CLOSE_SRC = r"(?i:<\s*/\s*think(?:ing)?\s*>|\[/THINK\]|<channel\|>|<\|close\|>\s*think\s*<\|sep\|>)"
_CLOSE = re.compile(_CLOSE_SRC)
# Where a call's arguments begin, in any format: a closing tag after one of these may be text
# inside the call's string argument (`{"query": "what does </think> mean"}`), not the block's end.
_CALL_START = re.compile(
    r"<\s*tool_call\s*>|\[TOOL_CALLS\]|<\|tool_calls?_section_begin\|>|<｜tool▁calls▁begin｜>|<[｜|]DSML[｜|]|<\|tool_call>"
    r"|<start_function_call>|<function=|<\|python_tag\|>|<\|open\|>\s*tools|action[ _]*input\s*[:：]|\{\s*\"name\"", re.I)


@dataclass
class Split:
    reasoning: str | None  # the text of the block, None when there is none (or it is empty)
    rest: str  # what follows the block: the answer or the call
    truncated: bool = False  # the block was opened and never closed


def split_reasoning(text: str) -> Split:
    """Separate a leading reasoning block; with only a closing tag, everything before it is the
    reasoning (the template opened the block)."""
    opened = _OPEN.match(text)
    close = _CLOSE.search(text, opened.end() if opened else 0)
    if close is not None and opened is None:
        call = _CALL_START.search(text, 0, close.start())
        if call is not None:  # the first closing tag outside the call's strings, if any
            found = scan(text, call.end(), _CLOSE_SRC, strings=FAMILY_STRINGS, openers=FAMILY_STRING_OPENERS)
            close = found.match if found.how == "marker" else None
    if close is None:
        if opened:
            return Split(text[opened.end():].strip() or None, "", truncated=True)
        return Split(None, text)
    start = opened.end() if opened else 0
    return Split(text[start:close.start()].strip() or None, text[close.end():])


def join_reasoning(*parts: str | None) -> str | None:
    """What goes into `reasoning_content`: the reasoning block, then the format's own thought."""
    kept = [p.strip() for p in parts if p and p.strip()]
    return "\n\n".join(kept) or None


def parse_with_reasoning(text: str, parse_rest: Callable[[str], Parsed], thought_is_reasoning: bool = True) -> Parsed:
    """Split the reasoning off `text`, parse the rest with the format's parser, and set
    `Parsed.reasoning` (the whole `reasoning_content`: block + the format's thought). Native
    families write text beside their calls as content (OpenAI semantics), not as reasoning."""
    split = split_reasoning(text)
    if split.truncated:
        return Parsed("invalid", error="the completion ended inside its <think> reasoning (no </think>): a truncated step",
                      reasoning=split.reasoning)
    parsed = parse_rest(split.rest)
    parsed.reasoning = join_reasoning(split.reasoning, parsed.thought if thought_is_reasoning else None)
    return parsed
