"""The exported vLLM plugin, built so that it needs only vLLM and the Python standard library.

`vllm_tool_parser.py` is the plugin's own code; it reads calls with tooltune's json parser
(`formats/json_parse.py`, the layout from `formats/json_layout.py`). `plugin_text()` writes that
file with the tooltune modules it imports carried inside it, verbatim, as the installed tooltune
has them: the parser vLLM runs is the one tooltune runs, and cannot drift from it. They are
imported under a private name (`_tooltune_vendored_<hash>`), so a tooltune that happens to be
installed beside vLLM is neither used nor shadowed.

The modules are found by following the imports (lazy ones too) from the plugin. The build
refuses what could not work without tooltune's environment: a library outside the standard
library that is imported without an `except ImportError` fallback, an `import tooltune.x`
statement (only `from … import` is rewritten), or a name imported from a package's
`__init__` (packages are empty in the plugin).
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from pathlib import Path

from tooltune.errors import TooltuneError

PLUGIN = Path(__file__).resolve().with_name("vllm_tool_parser.py")
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds tooltune/
_FROM_TOOLTUNE = re.compile(r"^(\s*)from tooltune(?=[.\s])", re.M)

_BOOTSTRAP = '''
import importlib.abc as _abc
import importlib.util as _util
import sys as _sys


class _Vendored(_abc.MetaPathFinder, _abc.Loader):
    """Imports the tooltune modules carried in this file under their private names."""

    def __init__(self, prefix, sources):
        self.prefix, self.sources = prefix, sources

    def find_spec(self, fullname, path=None, target=None):
        if fullname in self.sources:
            return _util.spec_from_loader(fullname, self, is_package=False)
        if any(name.startswith(fullname + ".") for name in self.sources):
            return _util.spec_from_loader(fullname, self, is_package=True)  # an empty package
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source = self.sources.get(module.__name__)
        if source is not None:
            exec(compile(source, "<" + module.__name__ + ">", "exec", dont_inherit=True), module.__dict__)


if not any(getattr(f, "prefix", None) == _PREFIX for f in _sys.meta_path):
    _sys.meta_path.append(_Vendored(_PREFIX, _SOURCES))
'''


def _module_file(name: str) -> Path | None:
    """The source file of tooltune module `name`, or None when it is a package (or unknown)."""
    path = PACKAGE_ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _is_package(name: str) -> bool:
    return (PACKAGE_ROOT.joinpath(*name.split(".")) / "__init__.py").is_file()


def _guarded(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True when `node` sits in a `try` whose handlers catch ImportError."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try) and any(
            h.type is not None and "ImportError" in ast.unparse(h.type) for h in node.handlers
        ):
            return True
    return False


def _tooltune_imports(source: str, where: str) -> list[str]:
    """The tooltune modules `source` imports; raises on anything the plugin could not carry."""
    tree = ast.parse(source)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root == "tooltune":
                    raise TooltuneError(f"{where}: `import {alias.name}` cannot be carried into the vLLM plugin; use `from … import`")
                if root not in sys.stdlib_module_names and not _guarded(node, parents):
                    raise TooltuneError(f"{where}: imports {alias.name} outside the standard library without a fallback")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            root = node.module.split(".")[0]
            if root == "tooltune":
                if _module_file(node.module) is not None:
                    found.append(node.module)
                    continue
                for alias in node.names:  # `from tooltune.formats import json_layout`: submodules only
                    if not _is_package(node.module) or _module_file(f"{node.module}.{alias.name}") is None:
                        raise TooltuneError(f"{where}: `from {node.module} import {alias.name}` names no module the plugin can carry")
                    found.append(f"{node.module}.{alias.name}")
            elif root not in sys.stdlib_module_names and root != "__future__" and not _guarded(node, parents):
                raise TooltuneError(f"{where}: imports {node.module} outside the standard library without a fallback")
    return found


def vendored_sources() -> dict[str, str]:
    """Every tooltune module the plugin needs, by name, with its source as installed."""
    sources: dict[str, str] = {}
    todo = _tooltune_imports(PLUGIN.read_text(encoding="utf-8"), PLUGIN.name)
    while todo:
        name = todo.pop()
        if name in sources:
            continue
        path = _module_file(name)
        assert path is not None  # _tooltune_imports only lists module files
        sources[name] = path.read_text(encoding="utf-8")
        todo += _tooltune_imports(sources[name], str(path.relative_to(PACKAGE_ROOT)))
    return dict(sorted(sources.items()))


def _rename(source: str, prefix: str) -> str:
    """`from tooltune.…` → `from PREFIX.…` (checked: every such import, and nothing else)."""
    renamed, count = _FROM_TOOLTUNE.subn(rf"\1from {prefix}", source)
    expected = sum(isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "tooltune" for n in ast.walk(ast.parse(source)))
    if count != expected:
        raise TooltuneError("the vLLM plugin's tooltune imports could not all be renamed (one spans lines?)")
    return renamed


def _literal(text: str) -> str:
    """`text` as a readable triple-quoted Python literal."""
    return "'''" + text.replace("\\", "\\\\").replace("'''", "\\'\\'\\'") + "'''"


def plugin_text() -> str:
    """The stand-alone `tooltune_tool_parser.py`."""
    sources = vendored_sources()
    digest = hashlib.sha256("".join(f"{k}\n{v}" for k, v in sources.items()).encode()).hexdigest()[:10]
    prefix = f"_tooltune_vendored_{digest}"
    plugin = PLUGIN.read_text(encoding="utf-8")
    future = "from __future__ import annotations\n"
    head, _, body = plugin.partition(future)
    entries = "".join(f"    {prefix + name.removeprefix('tooltune')!r}: {_literal(_rename(text, prefix))},\n"
                      for name, text in sources.items())
    carried = [
        "# --- The tooltune modules this plugin reads calls with, carried verbatim (written by tooltune",
        "# export-model from the installed tooltune; edit tooltune, not this file) and imported under",
        "# a private name, so this file needs only vLLM and the Python standard library.",
        f"_PREFIX = {prefix!r}",
        "_SOURCES = {", entries.rstrip("\n"), "}",
    ]
    return head + future + "\n" + "\n".join(carried) + "\n" + _BOOTSTRAP + "\n# --- The plugin.\n" + _rename(body, prefix)


def write_plugin(path: Path) -> Path:
    path.write_text(plugin_text(), encoding="utf-8")
    return path
