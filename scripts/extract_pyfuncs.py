"""Extract real tool schemas from Python's standard library for the recipe's v3 corpus.

Source: the typeshed stubs that ship inside the `mypy` wheel on PyPI (typeshed: Apache-2.0 / MIT)
give each function's parameter names and types; CPython's own docstrings (PSF licence) give the
description. Functions whose parameters have types with no JSON counterpart are skipped, so every
schema kept is one a model could fill and the function can be executed for real with its arguments.

Run (once; the output is committed): `pip install --no-deps mypy && python scripts/extract_pyfuncs.py`
Writes src/tooltune/data/synth/pyfuncs.jsonl and prints the counts per module.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import sys
from collections import Counter
from pathlib import Path

MODULES = ["math", "statistics", "cmath", "textwrap", "calendar", "colorsys", "html", "urllib.parse", "posixpath", "shlex",
           "difflib", "string", "unicodedata", "bisect", "heapq", "keyword", "fnmatch", "re", "ipaddress", "operator",
           "locale", "zlib", "binascii", "base64", "datetime", "fractions", "decimal", "random", "time", "json", "uuid"]
# Functions that print or change global state are never called in a corpus build; re.template is
# deprecated (a DeprecationWarning on every call, removed in Python 3.13): never taught.
SKIP_FUNCS = {"prcal", "prmonth", "setfirstweekday", "pryear", "template"}
SKIP = {"random", "time", "uuid", "locale"}  # results differ per call or per machine: never "true" training data
NUMBER = {"float", "_SupportsFloatOrIndex", "SupportsFloat", "_SupportsFloat", "_Number", "_NumberT", "complex", "_SupportsComplex"}
INTEGER = {"int", "SupportsIndex", "_SupportsIndex"}
STRING = {"str", "StrPath", "StrOrBytesPath", "AnyStr", "LiteralString", "_StrPath", "_PathType", "GenericPath", "_StrOrBytesT"}
OUT = Path(__file__).resolve().parents[1] / "src" / "tooltune" / "data" / "synth" / "pyfuncs.jsonl"


def json_type(node: ast.expr | None) -> dict | None:
    """The JSON schema of a stub annotation, or None when it has no JSON counterpart."""
    if node is None:
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # X | None
        parts = [p for p in (node.left, node.right) if not (isinstance(p, ast.Constant) and p.value is None)]
        return json_type(parts[0]) if len(parts) == 1 else (json_type(node.left) or json_type(node.right))
    text = ast.unparse(node)
    if text in NUMBER:
        return {"type": "number"}
    if text in INTEGER:
        return {"type": "integer"}
    if text in STRING:
        return {"type": "string"}
    if text == "bool":
        return {"type": "boolean"}
    if isinstance(node, ast.Subscript):
        head = ast.unparse(node.value)
        if head in ("Literal", "typing.Literal"):
            vals = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            values = [v.value for v in vals if isinstance(v, ast.Constant)]
            if values and all(isinstance(v, str) for v in values):
                return {"type": "string", "enum": values}
            return None
        if head in ("Iterable", "Sequence", "list", "SupportsLenAndGetItem", "Collection", "Reversible"):
            inner = json_type(node.slice)
            return {"type": "array", "items": inner} if inner and inner["type"] != "array" else None
    return None


def stub_functions(stub: Path) -> dict[str, ast.FunctionDef]:
    """Top-level functions of a stub, the first overload of each."""
    found: dict[str, ast.FunctionDef] = {}
    for node in ast.parse(stub.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If):  # sys.version_info branches: take the newest side
            body = node.body
        else:
            body = [node]
        for n in body:
            if isinstance(n, ast.FunctionDef) and not n.name.startswith("_") and n.name not in found and n.name not in SKIP_FUNCS:
                found[n.name] = n
    return found


def schema_of(module: str, fn: ast.FunctionDef) -> dict | None:
    args = fn.args
    if args.vararg is not None and json_type(args.vararg.annotation) is None:
        return None
    props, required, positional_only = {}, [], []
    n_pos = len(args.posonlyargs) + len(args.args)
    defaults_from = n_pos - len(args.defaults)
    for i, a in enumerate([*args.posonlyargs, *args.args]):
        if a.arg in ("self", "cls"):
            continue
        t = json_type(a.annotation)
        has_default = i >= defaults_from
        if t is None:
            if has_default:
                continue
            return None
        props[a.arg] = t
        if not has_default:
            required.append(a.arg)
        if i < len(args.posonlyargs) or a.arg.startswith("__"):
            positional_only.append(a.arg)
    if args.vararg is not None:  # *integers -> an array argument, spread when called
        props[args.vararg.arg] = {"type": "array", "items": json_type(args.vararg.annotation)}
        required.append(args.vararg.arg)
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        t = json_type(a.annotation)
        if t is None:
            if d is None:
                return None
            continue
        props[a.arg] = t
        if d is None:
            required.append(a.arg)
    if not props:
        return None
    return {"properties": props, "required": required, "positional_only": positional_only,
            "vararg": args.vararg.arg if args.vararg is not None else None}


def main() -> None:
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("mypy")  # the stubs only: mypy itself is never imported
    if spec is None or not spec.submodule_search_locations:
        sys.exit("mypy is not installed: pip install --no-deps mypy")
    root = Path(list(spec.submodule_search_locations)[0]) / "typeshed" / "stdlib"
    rows, counts = [], Counter()
    for module in MODULES:
        if module in SKIP:
            continue
        stub = root / (module.replace(".", "/") + ".pyi")
        if not stub.exists():
            stub = root / module.replace(".", "/") / "__init__.pyi"
        mod = importlib.import_module(module)
        for name, fn in stub_functions(stub).items():
            obj = getattr(mod, name, None)
            doc = inspect.getdoc(obj) if callable(obj) else None
            schema = schema_of(module, fn) if doc else None
            if schema is None:
                continue
            description = doc.split("\n\n")[0].replace("\n", " ").strip()
            if description.startswith(name + "(") and "\n\n" in doc:  # signature line first (C functions)
                description = doc.split("\n\n")[1].replace("\n", " ").strip()
            rows.append({"module": module, "name": name, "description": description, **schema})
            counts[module] += 1
    with open(OUT, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} functions from {len(counts)} modules -> {OUT}", dict(counts), f"python {sys.version.split()[0]}, mypy {importlib.metadata.version('mypy')}")


if __name__ == "__main__":
    main()
