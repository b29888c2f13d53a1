"""Where tools come from: the one `--tools` grammar of every command that takes tools.

A source is one of
  calculator,web_search      built-in names (comma-separated), or `builtins` for all of them
  my_tools.py | pkg.module   a Python file or module: every `Tool` (the `@tool` decorator) it defines
  tools.json                 an OpenAI tools JSON file: a list of specs, or {"tools": [...]}
  mcp:stdio:CMD ARGS…        a Model Context Protocol server over stdio
  mcp:http(s)://URL          … or over streamable HTTP (tooltune.tools.mcp)

Several sources combine into one registry. Every tool is checked once here — a name OpenAI
accepts, a description, parameters that are a JSON Schema jsonschema accepts, no duplicates — so
synthesis, training and the agent never meet a tool they cannot render or validate; each problem
is one line that names the tool and the fix.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema

from tooltune.errors import TooltuneError, located
from tooltune.tools.registry import ToolRegistry, builtin_registry
from tooltune.tools.tool import Tool

NAME_OK = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # OpenAI's tool-name characters (and dotted API names)


def load_tools(sources: Iterable[str], *, execute: bool = False, search_dir: str | None = None, search_backend: str = "local",
               confirm: Any = None, mcp_config: str | None = None) -> ToolRegistry:
    """One registry from every source, checked (module docstring). `execute`/`confirm` govern MCP
    tools that change state; `search_dir`/`search_backend` configure the built-in web_search."""
    tools: list[Tool] = []
    mcp_specs: list[Any] = []
    for source in sources:
        source = source.strip()
        if not source:
            continue
        if source.startswith("mcp:"):
            from tooltune.tools.mcp import parse_mcp_source

            mcp_specs.append(parse_mcp_source(source))
        else:
            tools += _load_one(source, search_dir, search_backend)
    if mcp_config:
        from tooltune.tools.mcp import load_mcp_config

        mcp_specs += load_mcp_config(mcp_config)
    if mcp_specs:
        from tooltune.tools.mcp import mcp_tools

        tools += mcp_tools(mcp_specs, execute=execute, confirm=confirm)
    if not tools:
        raise TooltuneError("no tools given: pass --tools with built-in names, a .py file, a tools .json file or mcp:… (see tooltune tools --help)")
    check_tools(tools)
    return ToolRegistry(tools)


def _load_one(source: str, search_dir: str | None, search_backend: str) -> list[Tool]:
    path = Path(source)
    if source.endswith(".json"):
        return tools_from_json(path)
    if source.endswith(".py") or path.is_file():
        return tools_from_python(source)
    builtins = builtin_registry(search_dir, search_backend)
    if source == "builtins":
        return list(builtins)
    names = [n.strip() for n in source.split(",") if n.strip()]
    if all(n in builtins for n in names):
        return [builtins.get(n) for n in names]
    if "," not in source and re.fullmatch(r"[A-Za-z_][\w.]*", source) and importlib.util.find_spec(source.split(".")[0]) is not None:
        return tools_from_python(source)
    unknown = [n for n in names if n not in builtins]
    raise TooltuneError(f"--tools {source}: {', '.join(unknown)} is not a built-in tool ({', '.join(builtins.names)}), "
                        "a .py file, a tools .json file or an mcp: server")


def tools_from_json(path: Path) -> list[Tool]:
    """OpenAI tool specs from a JSON file: a list, or an object with a "tools" list."""
    if not path.exists():
        raise TooltuneError(f"--tools {path}: no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TooltuneError(f"--tools {path}: not valid JSON ({exc}); write a list of OpenAI tool specs") from None
    specs = data.get("tools") if isinstance(data, dict) else data
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
        raise TooltuneError(f"--tools {path}: expected a JSON list of tool specs (or {{\"tools\": [...]}})")
    tools = []
    for i, spec in enumerate(specs):
        with located(f"--tools {path}: tool #{i + 1}"):
            tools.append(Tool.from_openai(spec))
    return tools


def tools_from_python(source: str) -> list[Tool]:
    """Every `Tool` defined at the top level of a Python file or importable module, in order;
    a `ToolRegistry` there contributes its tools. The module runs, as any import does."""
    try:
        if source.endswith(".py") or Path(source).is_file():
            path = Path(source).resolve()
            if not path.exists():
                raise TooltuneError(f"--tools {source}: no such file")
            spec = importlib.util.spec_from_file_location(f"tooltune_user_tools_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
            sys.modules[spec.name] = module  # type: ignore[union-attr]  (pydantic resolves hints through it)
            spec.loader.exec_module(module)  # type: ignore[union-attr]
        else:
            module = importlib.import_module(source)
    except TooltuneError:
        raise
    except SyntaxError as exc:
        raise TooltuneError(f"--tools {source}: line {exc.lineno}: {exc.msg}; fix the file so Python can import it") from None
    except Exception as exc:  # the user's code failed on import: say where, not a traceback
        raise TooltuneError(f"--tools {source}: importing it failed with {type(exc).__name__}: {exc}") from None
    tools: list[Tool] = []
    for value in vars(module).values():
        if isinstance(value, Tool):
            tools.append(value)
        elif isinstance(value, ToolRegistry):
            tools += list(value)
    if not tools:
        raise TooltuneError(f"--tools {source}: defines no tools; decorate functions with @tooltune.tool")
    return list({id(t): t for t in tools}.values())


def check_tools(tools: list[Tool]) -> None:
    """One-line errors for tools nothing downstream could use (module docstring)."""
    seen: set[str] = set()
    for t in tools:
        if not NAME_OK.match(t.name):
            raise TooltuneError(f"tool {t.name!r}: a name may hold only letters, digits, _ . - (at most 64); rename it")
        if t.name in seen:
            raise TooltuneError(f"tool {t.name!r} is defined twice: rename one of them")
        seen.add(t.name)
        if not (t.description or "").strip():
            raise TooltuneError(f"tool {t.name!r} has no description: add a docstring or a \"description\" so the model knows what it does")
        check_schema(t.name, t.parameters)


def check_schema(name: str, schema: Any) -> None:
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        raise TooltuneError(f"tool {name!r}: parameters must be a JSON Schema of type object")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "parameters"
        raise TooltuneError(f"tool {name!r}: invalid JSON Schema at {where}: {exc.message}") from None
