"""Prompt formats: render canonical messages + tools to chat turns, parse completions back."""

from tooltune.errors import TooltuneError
from tooltune.formats.base import Parsed, PromptFormat, Rendered, Segment, Turn
from tooltune.formats.jsoncall import JsonCallFormat
from tooltune.formats.native import NativeFormat
from tooltune.formats.react import ReActFormat

FORMATS: dict[str, type[PromptFormat]] = {"react": ReActFormat, "json": JsonCallFormat, "native": NativeFormat}


def get_format(name: str, lang: str = "en", tool_role: str = "user", tool_parser: str | None = None) -> PromptFormat:
    """A prompt format by name; `tool_parser` (native only) picks the model family's call syntax."""
    try:
        cls = FORMATS[name]
    except KeyError:
        raise TooltuneError(f"unknown format {name!r}: use one of {', '.join(FORMATS)}") from None
    if tool_parser is None:
        return cls(lang=lang, tool_role=tool_role)
    if cls is not NativeFormat:
        raise TooltuneError(f"a tool parser ({tool_parser!r}) applies to --format native only, not {name!r}")
    return NativeFormat(lang=lang, tool_role=tool_role, tool_parser=tool_parser)


__all__ = ["FORMATS", "Parsed", "PromptFormat", "Rendered", "Segment", "Turn", "get_format"]
