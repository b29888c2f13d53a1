"""Prompt formats: render canonical messages + tools to chat turns, parse completions back."""

from tooltune.errors import TooltuneError
from tooltune.formats.base import Parsed, PromptFormat, Rendered, Segment, Turn
from tooltune.formats.jsoncall import JsonCallFormat
from tooltune.formats.native import NativeFormat
from tooltune.formats.react import ReActFormat

FORMATS: dict[str, type[PromptFormat]] = {"react": ReActFormat, "json": JsonCallFormat, "native": NativeFormat}


def get_format(name: str, lang: str = "en", tool_role: str = "user", tool_parser: str | None = None,
               strict_tags: bool = False) -> PromptFormat:
    """A prompt format by name; `tool_parser` (native only) picks the model family's call syntax;
    `strict_tags` (json, native) reads calls only inside call markers, never bare JSON."""
    try:
        cls = FORMATS[name]
    except KeyError:
        raise TooltuneError(f"unknown format {name!r}: use one of {', '.join(FORMATS)}") from None
    if tool_parser is not None and cls is not NativeFormat:
        raise TooltuneError(f"a tool parser ({tool_parser!r}) applies to --format native only, not {name!r}")
    if strict_tags and cls is ReActFormat:
        raise TooltuneError("--strict-tags applies to --format json or native (ReAct has no call tags)")
    if cls is NativeFormat:
        return NativeFormat(lang=lang, tool_role=tool_role, tool_parser=tool_parser or "auto", strict_tags=strict_tags)
    if cls is JsonCallFormat:
        return JsonCallFormat(lang=lang, tool_role=tool_role, strict_tags=strict_tags)
    return cls(lang=lang, tool_role=tool_role)


__all__ = ["FORMATS", "Parsed", "PromptFormat", "Rendered", "Segment", "Turn", "get_format"]
