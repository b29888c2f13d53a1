"""Tool-description augmentation: the same sample with its tools described in different styles.

Prompts in the wild describe tools in many ways — a Qwen-style JSON-Schema block, an OpenAI
function list, an AutoGPT-like one-liner. Training only on one style teaches a model that style;
`augment` returns canonical variants of a sample whose system message carries the tools in
another style, so the training data varies the way real prompts do. The formats' defaults are
untouched: these are extra samples, still in the one canonical format.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.messages import Message, Sample
from tooltune.prompts import fill
from tooltune.toolspec import function_of, tool_description, tool_name, tool_parameters, wrapped


def qwen_json_schema(tools: list[dict[str, Any]], lang: str = "en") -> str:
    """The Qwen2.5 chat template's block: each tool's OpenAI JSON inside <tools></tools>."""
    intro = fill("tool_intro_qwen", lang)
    body = "\n".join(json.dumps(wrapped(t), ensure_ascii=False) for t in tools)
    return f"{intro}\n<tools>\n{body}\n</tools>"


def openai_function_list(tools: list[dict[str, Any]], lang: str = "en") -> str:
    """A pretty-printed OpenAI `functions` list, as many hosted-API prompts show it."""
    intro = fill("tool_intro_openai", lang)
    return f"{intro}\n" + json.dumps([function_of(t) for t in tools], ensure_ascii=False, indent=2)


def autogpt_oneliner(tools: list[dict[str, Any]], lang: str = "en") -> str:
    """AutoGPT's command list: `1. description: "name", args: "a": "<a>", "b": "<b>"`."""
    intro = fill("tool_intro_autogpt", lang)
    lines = []
    for i, t in enumerate(tools, 1):
        props = tool_parameters(t).get("properties", {})
        args = ", ".join(f'"{name}": "<{name}>"' for name in props)
        lines.append(f'{i}. {tool_description(t) or tool_name(t)}: "{tool_name(t)}", args: {args}')
    return intro + "\n" + "\n".join(lines)


STYLES: dict[str, Callable[[list[dict[str, Any]], str], str]] = {
    "qwen": qwen_json_schema, "openai": openai_function_list, "autogpt": autogpt_oneliner,
}


def describe_tools(tools: list[dict[str, Any]], style: str, lang: str = "en") -> str:
    try:
        return STYLES[style](tools, lang)
    except KeyError:
        raise TooltuneError(f"unknown tool-description style {style!r}: use one of {', '.join(STYLES)}") from None


def with_tool_style(sample: Sample, style: str, lang: str = "en") -> Sample:
    """A copy of `sample` whose system message ends with the tools described in `style`
    (the user's own system text is kept in front). Messages and tools are otherwise unchanged."""
    if not sample.tools:
        return Sample(list(sample.messages), [])
    block = describe_tools(sample.tools, style, lang)
    system = "\n\n".join(m.text for m in sample.messages if m.role == "system" and m.text)
    rest = [m for m in sample.messages if m.role != "system"]
    return Sample([Message("system", "\n\n".join(filter(None, [system, block])))] + rest, list(sample.tools))


def augment(sample: Sample, styles: list[str] | None = None, lang: str = "en") -> list[Sample]:
    """One variant per style (all styles by default)."""
    return [with_tool_style(sample, s, lang) for s in (styles or list(STYLES))]
