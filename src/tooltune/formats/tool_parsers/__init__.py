"""Native tool-call syntaxes, one small module per model family, chosen from the model.

`get_tool_parser(name)` gives a family's parser; `detect_tool_parser(tokenizer_or_template)`
picks it from the chat template and special tokens; `sniff_tool_parser(completion)` from a
completion's own markers (what `--tool-parser auto` falls back to when no tokenizer is known).
Every parser returns the canonical `Parsed`, never raises, and reports cut-off calls as invalid.
"""

from __future__ import annotations

from typing import Any

from tooltune.errors import TooltuneError
from tooltune.formats.tool_parsers import deepseek, gemma, glm, gpt_oss, hermes, kimi, llama3, mistral, qwen3_xml
from tooltune.formats.tool_parsers.common import ToolParser

# Detection order matters: families whose markers contain another's come first (Qwen3-Coder and
# GLM also write `<tool_call>`, which alone means hermes).
PARSERS: dict[str, ToolParser] = {p.name: p for p in (
    gpt_oss.PARSER, kimi.PARSER, deepseek.PARSER, glm.PARSER, qwen3_xml.PARSER, mistral.PARSER, gemma.PARSER,
    llama3.PARSER, hermes.PARSER,
)}
NAMES = ("hermes", "llama3", "mistral", "qwen3-xml", "deepseek", "glm", "kimi", "gpt-oss", "gemma")


def get_tool_parser(name: str) -> ToolParser:
    try:
        return PARSERS[name]
    except KeyError:
        raise TooltuneError(f"unknown tool parser {name!r}: use auto or one of {', '.join(NAMES)}") from None


def _template_text(tokenizer_or_template: Any) -> str:
    if isinstance(tokenizer_or_template, str):
        return tokenizer_or_template
    template = getattr(tokenizer_or_template, "chat_template", None) or ""
    if isinstance(template, dict):  # several named templates (default, tool_use…)
        template = "\n".join(str(t) for t in template.values())
    specials = []
    for attr in ("all_special_tokens", "additional_special_tokens"):
        specials += [str(t) for t in getattr(tokenizer_or_template, attr, None) or []]
    added = getattr(tokenizer_or_template, "get_added_vocab", None)
    if callable(added):
        try:
            specials += list(added())
        except Exception:  # a tokenizer without added vocab support: the template is enough
            pass
    return str(template) + "\n" + "\n".join(specials)


def detect_tool_parser(tokenizer_or_template: Any) -> str:
    """The family name for a tokenizer (its chat template and special tokens) or a template
    string; "hermes" when nothing identifies one (the most tolerant reader)."""
    text = _template_text(tokenizer_or_template)
    for parser in PARSERS.values():
        if parser.matches_template(text):
            return parser.name
    return "hermes"


def sniff_tool_parser(completion: str) -> str:
    """The family whose call markers appear in a completion; "hermes" when none does."""
    for parser in PARSERS.values():
        if any(marker in completion for marker in parser.completion_markers):
            return parser.name
    return "hermes"


__all__ = ["NAMES", "PARSERS", "ToolParser", "detect_tool_parser", "get_tool_parser", "sniff_tool_parser"]
