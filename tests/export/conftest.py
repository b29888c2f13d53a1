"""The exported vLLM plugin, loaded in this process against stand-in vLLM classes."""

import importlib.util
import sys

import pytest

from tooltune.export.vllm_plugin import write_plugin

from .samples import CALC
from .vllm_standin import LAYOUTS, write_standin


@pytest.fixture(params=list(LAYOUTS))
def plugin(monkeypatch, tmp_path, request):
    """The exported plugin file loaded against stand-in vLLM modules laid out as each vLLM release
    has them; vLLM builds the parser the way that release does (`cls(tokenizer, tools)` since 0.32)."""
    for name in [n for n in sys.modules if n == "vllm" or n.startswith("vllm.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(write_standin(tmp_path / "standin", request.param)))
    path = write_plugin(tmp_path / "tooltune_tool_parser.py")
    spec = importlib.util.spec_from_file_location("tooltune_tool_parser", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    parser_cls = module.ToolParserManager.tool_parsers["tooltune"]
    yield parser_cls(None, [CALC]) if LAYOUTS[request.param][2] else parser_cls(None)
    for name in [n for n in sys.modules if n == "vllm" or n.startswith("vllm.")]:
        del sys.modules[name]
