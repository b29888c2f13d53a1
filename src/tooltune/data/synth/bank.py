"""The tool-schema bank (bank.jsonl beside this file): hundreds of tools, each with parameter
kinds, question templates, a result shape and answer templates, in English and Chinese.

A bank tool becomes an OpenAI tool spec in either language. The train / held-out split is made
by *tool* (a stable hash of its id), never by sample, so the held-out set measures what the
recipe is for: calling tools the model never saw.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.toolspec import make_spec

BANK_PATH = Path(__file__).resolve().parent / "bank.jsonl"
_SIMPLE = {"integer": "integer", "number": "number", "boolean": "boolean", "array": "array", "object": "object",
           "latitude": "number", "longitude": "number", "year": "integer"}


@dataclass
class BankTool:
    id: str
    domain: str
    name: str
    description: dict[str, str]
    parameters: list[dict[str, Any]]
    questions: dict[str, list[str]]
    returns: dict[str, str]
    answer: dict[str, list[str]]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def required(self) -> list[dict[str, Any]]:
        return [p for p in self.parameters if p.get("required")]

    def spec(self, lang: str, name: str | None = None, rename: dict[str, str] | None = None) -> dict[str, Any]:
        """The OpenAI tool spec, described in `lang`; `name`/`rename` apply function masking."""
        rename = rename or {}
        props = {rename.get(p["name"], p["name"]): param_schema(p, lang) for p in self.parameters}
        params: dict[str, Any] = {"type": "object", "properties": props}
        req = [rename.get(p["name"], p["name"]) for p in self.required]
        if req:
            params["required"] = req
        return make_spec(name or self.name, self.description[lang], params)


def param_schema(p: dict[str, Any], lang: str) -> dict[str, Any]:
    """JSON Schema of one bank parameter."""
    kind = p["kind"]
    out: dict[str, Any] = {"type": _SIMPLE.get(kind, "string")}
    if kind == "enum":
        out["enum"] = list(p["values"])
    if kind in ("integer", "number"):
        out["minimum"], out["maximum"] = p["min"], p["max"]
    if kind == "array":
        out["items"] = param_schema({"name": "item", **p["items"]}, lang)
        out["items"].pop("description", None)
    if kind == "object":
        out["properties"] = {q["name"]: param_schema(q, lang) for q in p["properties"]}
        req = [q["name"] for q in p["properties"] if q.get("required")]
        if req:
            out["required"] = req
    if kind in ("date", "datetime", "time"):
        out["format"] = {"date": "date", "datetime": "date-time", "time": "time"}[kind]
    if "description" in p:
        desc = p["description"]
        out["description"] = desc.get(lang) or desc.get("en", "") if isinstance(desc, dict) else str(desc)
    if "default" in p:
        out["default"] = p["default"]
    return out


def load_bank(path: str | Path = BANK_PATH) -> list[BankTool]:
    path = Path(path)
    if not path.exists():
        raise TooltuneError(f"tool bank {path} not found")
    tools = []
    known = set(BankTool.__dataclass_fields__) - {"extra"}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            tools.append(BankTool(**{k: obj[k] for k in known}, extra={k: v for k, v in obj.items() if k not in known}))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TooltuneError(f"{path}:{lineno}: not a valid bank tool ({exc})") from None
    return tools


def split_bank(tools: list[BankTool], held_out: float = 0.2, salt: str = "tooltune-recipe-v1") -> tuple[list[BankTool], list[BankTool]]:
    """(train, held-out) by a stable hash of each tool's id: adding tools never moves old ones."""
    def bucket(t: BankTool) -> float:
        return stable_fraction(f"{salt}:{t.id}")

    return [t for t in tools if bucket(t) >= held_out], [t for t in tools if bucket(t) < held_out]


def stable_fraction(text: str) -> float:
    """A number in [0, 1] fixed by `text` alone: the basis of every train / held-out split here."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def random_name(rng: random.Random, prefix: str = "") -> str:
    """A meaningless identifier for function masking (Hammer): the model must read descriptions."""
    return prefix + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(rng.randint(5, 9)))
