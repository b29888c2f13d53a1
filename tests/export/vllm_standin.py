"""Stand-ins for vLLM's tool-parser classes, written as a `vllm` package on disk in the layout of
each vLLM release, so the exported plugin can be loaded both here and in a bare interpreter."""

from __future__ import annotations

from pathlib import Path

# (protocol module, parser module, does ToolParser.__init__ take the request's tools)
LAYOUTS = {
    "0.32": ("vllm.entrypoints.generate.base.protocol", "vllm.tool_parsers.abstract_tool_parser", True),
    "0.1x": ("vllm.entrypoints.openai.engine.protocol", "vllm.tool_parsers.abstract_tool_parser", False),
    "0.9": ("vllm.entrypoints.openai.protocol", "vllm.entrypoints.openai.tool_parsers.abstract_tool_parser", False),
}

PROTOCOL = '''
import dataclasses


def _record(cls_name, **fields):
    return dataclasses.make_dataclass(cls_name, [(k, object, dataclasses.field(default=v)) for k, v in fields.items()])


DeltaMessage = _record("DeltaMessage", content=None, tool_calls=None)
DeltaFunctionCall = _record("DeltaFunctionCall", name=None, arguments=None)
DeltaToolCall = _record("DeltaToolCall", index=0, id=None, type=None, function=None)
ExtractedToolCallInformation = _record("ExtractedToolCallInformation", tools_called=False, tool_calls=None, content=None)
FunctionCall = _record("FunctionCall", name=None, arguments=None)
ToolCall = _record("ToolCall", id=None, type="function", function=None)
'''

PARSERS = '''
class ToolParser:
    def __init__(self, tokenizer{tools_arg}):
        self.model_tokenizer = tokenizer


class ToolParserManager:
    tool_parsers = {{}}

    @classmethod
    def register_module(cls, name):
        def deco(parser):
            cls.tool_parsers[name] = parser
            return parser
        return deco
'''


def write_standin(root: Path, layout: str) -> Path:
    """A `vllm` package under `root` laid out as vLLM `layout` has it; returns `root`."""
    protocol_home, parsers_home, takes_tools = LAYOUTS[layout]
    for home, text in ((protocol_home, PROTOCOL), (parsers_home, PARSERS.format(tools_arg=", tools=None" if takes_tools else ""))):
        parts = home.split(".")
        folder = root.joinpath(*parts[:-1])
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(1, len(parts)):
            root.joinpath(*parts[:i], "__init__.py").touch()
        (folder / f"{parts[-1]}.py").write_text(text, encoding="utf-8")
    return root
