"""No circles among tooltune's imports, lazy ones included.

Every module under src/tooltune/ is parsed with `ast` (nothing is imported), and every import it
makes is collected: top-level ones and the ones inside functions or `if` blocks alike, since a
function-level import only hides a circle until that function runs. Two graphs are checked:

- packages: tooltune's subpackages (agent, data, eval, ...) and its top-level modules (cli,
  messages, toolspec, ...), an arrow wherever a module of one imports a module of another. One
  direction between two packages keeps each one readable without the other.
- modules: the same arrows between single files, inside a package too.

An import names the longest module it reaches: `from tooltune.data import store` is an arrow to
data/store.py, `from tooltune.data import Store` one to data/__init__.py (which runs on that
import). A failure names the circle and, for each arrow, the file and line of an import that
draws it.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "tooltune"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that `name` (a module, or a module plus a name in it) points at."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported tooltune module, line) for every import in the file, at any depth."""
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package upward
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            targets = [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] != PACKAGE:
                continue
            hit = _resolve(target, known)
            if hit and hit != module:
                out.append((hit, node.lineno))
    return out


def _group(module: str) -> str:
    """The package-level node: tooltune.data.synth.bank -> data, tooltune.cli -> cli."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def import_graph(level: str) -> dict[str, dict[str, str]]:
    """node -> {imported node: "file:line" of one import that draws the arrow}."""
    known = _modules()
    graph: dict[str, dict[str, str]] = {}
    for module, path in known.items():
        src = module if level == "modules" else _group(module)
        graph.setdefault(src, {})
        for target, line in _imports(module, path, known):
            dst = target if level == "modules" else _group(target)
            if dst == src:
                continue
            graph[src].setdefault(dst, f"{path.relative_to(SRC.parent)}:{line}")
    return graph


def find_cycle(graph: dict[str, dict[str, str]]) -> list[str] | None:
    """One circle as [a, b, ..., a], or None: a depth-first search that meets a node on its stack."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _describe(cycle: list[str], graph: dict[str, dict[str, str]]) -> str:
    return " -> ".join(cycle) + "\n" + "\n".join(f"  {a} -> {b}: {graph[a][b]}" for a, b in zip(cycle, cycle[1:]))


def test_no_circle_between_packages():
    graph = import_graph("packages")
    assert {"agent", "data", "eval", "formats", "llm", "train", "cli"} <= set(graph)  # the walk found the package
    cycle = find_cycle(graph)
    assert cycle is None, "packages import each other in a circle (lazy imports count):\n" + _describe(cycle, graph)


def test_no_circle_between_modules():
    graph = import_graph("modules")
    cycle = find_cycle(graph)
    assert cycle is None, "modules import each other in a circle (lazy imports count):\n" + _describe(cycle, graph)


def test_a_lazy_import_is_an_arrow(tmp_path):
    """The check sees an import inside a function, and names the circle it closes."""
    graph = {"a": {"b": "a.py:1"}, "b": {"a": "b.py:9"}, "c": {"a": "c.py:2"}}
    assert find_cycle(graph) == ["a", "b", "a"]
    assert find_cycle({"a": {"b": ""}, "b": {}}) is None
    mod = tmp_path / "m.py"
    mod.write_text("def f():\n    from tooltune.data.io import x\n", encoding="utf-8")
    known = {"tooltune.data.io": Path("io.py"), "tooltune.m": mod}
    assert _imports("tooltune.m", mod, known) == [("tooltune.data.io", 2)]
