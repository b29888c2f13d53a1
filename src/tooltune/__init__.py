"""tooltune: teach language models to use tools, and run them as agents."""

from tooltune.errors import TooltuneError
from tooltune.messages import Message, Sample, ToolCall

__all__ = ["Message", "Sample", "Tool", "ToolCall", "TooltuneError", "tool"]


def __getattr__(name: str):
    """`from tooltune import tool, Tool` for tool files, without loading tools (jsonschema,
    pydantic) for every `import tooltune`."""
    if name in ("tool", "Tool"):
        from tooltune import tools

        return getattr(tools, name)
    raise AttributeError(f"module 'tooltune' has no attribute {name!r}")
__version__ = "0.1.0"
