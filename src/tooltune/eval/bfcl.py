"""BFCL (the Berkeley Function Calling Leaderboard): its data and its AST checker, from `bfcl-eval`.

Why through the package and not a copy: the leaderboard's numbers are only comparable when the
items, the function-to-tool conversion and the checker are BFCL's own, so nothing here
re-implements them. Three adjustments, each what BFCL's own handlers do:
- `bfcl_eval.constants.model_config` imports every provider SDK BFCL supports (anthropic,
  cohere, writer-sdk, …); the checker only needs to know that our model's tool names carry `_`
  for `.` (`math.factorial` → `math_factorial`, as OpenAI-style names must), so we supply that
  one module with that one entry, as a harness may.
- BFCL writes result/score/lock folders next to itself at import; `BFCL_PROJECT_ROOT` points
  them into tooltune's cache instead of site-packages.
- Irrelevance items pass when the model makes no call; a call attempt that our parser rejects
  (an unknown tool, broken JSON) still counts as a call there — BFCL's FC handlers would have
  received it as one.

BFCL is evaluation data only: `tooltune.data.benchmark_data.refuse_benchmark_data` refuses any path inside
the package where files become corpus (import, training), so no benchmark item reaches training.
"""

from __future__ import annotations

import os
import random
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.messages import Message, ToolCall

BFCL_VERSION = "2026.3.23"
INSTALL_HINT = f"pip install --no-deps bfcl-eval=={BFCL_VERSION} && pip install 'tooltune[bfcl]'"
MODEL_NAME = "tooltune"  # the checker's key for "tool names carry _ for ."
# Single-turn categories BFCL checks by AST (or by the absence of a call), in the board's order.
CATEGORIES = (
    "simple_python", "simple_java", "simple_javascript", "multiple", "parallel", "parallel_multiple", "irrelevance",
    "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance", "live_relevance",
)
DEFAULT_CATEGORIES = ("simple_python", "multiple", "parallel", "irrelevance")


@dataclass
class BenchItem:
    """One BFCL question: its messages, the functions as BFCL describes them (for the checker),
    the same as OpenAI tools (for the model), and the accepted answers (None: (ir)relevance)."""

    id: str
    category: str
    messages: list[Message]
    functions: list[dict[str, Any]]
    tools: list[dict[str, Any]]
    answer: list[dict[str, Any]] | None = None
    position: int = field(default=0, compare=False)  # the item's index in its shuffled category

    @property
    def expects_call(self) -> bool:
        return "irrelevance" not in self.category


def _bfcl() -> types.SimpleNamespace:
    """Import the parts of bfcl-eval we use (once), or fail with the install command."""
    cached = getattr(_bfcl, "cache", None)
    if cached is not None:
        return cached
    root = Path(os.environ.get("BFCL_PROJECT_ROOT") or Path.home() / ".cache" / "tooltune" / "bfcl")
    root.mkdir(parents=True, exist_ok=True)
    os.environ["BFCL_PROJECT_ROOT"] = str(root)
    shim = types.ModuleType("bfcl_eval.constants.model_config")
    shim.MODEL_CONFIG_MAPPING = {MODEL_NAME: types.SimpleNamespace(underscore_to_dot=True)}  # type: ignore[attr-defined]
    previous = sys.modules.setdefault("bfcl_eval.constants.model_config", shim)
    try:
        from bfcl_eval.constants.enums import Language, ModelStyle
        from bfcl_eval.constants.type_mappings import GORILLA_TO_OPENAPI
        from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
        from bfcl_eval.model_handler.utils import convert_to_tool
        from bfcl_eval.utils import load_dataset_entry, load_ground_truth_entry
    except ImportError as exc:
        if previous is shim:
            del sys.modules["bfcl_eval.constants.model_config"]
        raise TooltuneError(f"BFCL needs the bfcl-eval package ({exc.name or exc} is missing): {INSTALL_HINT}") from None
    if previous is not shim:  # the real module was imported first: make sure it knows our name
        previous.MODEL_CONFIG_MAPPING.setdefault(MODEL_NAME, shim.MODEL_CONFIG_MAPPING[MODEL_NAME])
    _bfcl.cache = types.SimpleNamespace(  # type: ignore[attr-defined]
        Language=Language, style=ModelStyle.OPENAI_COMPLETIONS, mapping=GORILLA_TO_OPENAPI, ast_checker=ast_checker,
        convert_to_tool=convert_to_tool, load_dataset_entry=load_dataset_entry, load_ground_truth_entry=load_ground_truth_entry,
    )
    return _bfcl.cache


def parse_categories(text: str | None) -> list[str]:
    """`--categories a,b` checked against the supported list; `all` takes every one."""
    if not text:
        return list(DEFAULT_CATEGORIES)
    names = list(CATEGORIES) if text.strip() == "all" else [c.strip() for c in text.split(",") if c.strip()]
    unknown = [c for c in names if c not in CATEGORIES]
    if unknown or not names:
        raise TooltuneError(f"unknown BFCL categor{'ies' if len(unknown) > 1 else 'y'} {', '.join(unknown) or '(none)'}: "
                            f"use 'all' or some of {', '.join(CATEGORIES)}")
    return list(dict.fromkeys(names))


def to_tools(functions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BFCL's own conversion to OpenAI tools (dots in names become underscores)."""
    return _bfcl().convert_to_tool(functions, _bfcl().mapping, _bfcl().style)


def load_items(categories: list[str], limit: int | None = None, seed: int = 0) -> list[BenchItem]:
    """Each category's items, shuffled with `seed` (per category, so adding a category never
    changes another's sample), then the first `limit` of each."""
    if limit is not None and limit < 1:
        raise TooltuneError("--limit must be at least 1")
    bfcl = _bfcl()
    items: list[BenchItem] = []
    for category in categories:
        entries = bfcl.load_dataset_entry(category)
        answers = {a["id"]: a["ground_truth"] for a in bfcl.load_ground_truth_entry(category)} if _has_answers(category) else {}
        random.Random(f"{seed}:{category}").shuffle(entries)
        for position, entry in enumerate(entries[:limit] if limit else entries):
            turns = entry["question"]
            if len(turns) != 1:  # multi-turn entries live in other categories; skip defensively
                continue
            items.append(BenchItem(
                id=entry["id"], category=category, messages=[Message.from_openai(m) for m in turns[0]],
                functions=entry["function"], tools=to_tools(entry["function"]), answer=answers.get(entry["id"]), position=position,
            ))
    return items


def _has_answers(category: str) -> bool:
    return "relevance" not in category


def _language(category: str) -> Any:
    lang = _bfcl().Language
    return lang.JAVA if category.endswith("_java") else lang.JAVASCRIPT if category.endswith("_javascript") else lang.PYTHON


def check(item: BenchItem, calls: list[ToolCall], attempted: bool) -> dict[str, Any]:
    """BFCL's verdict on the calls the model made. `attempted`: the completion tried to call
    (it may have been unparseable); (ir)relevance items are judged on that alone."""
    if "relevance" in item.category:  # irrelevance and live_relevance
        made = attempted or bool(calls)
        valid = not made if "irrelevance" in item.category else made
        return {"valid": valid, "error_type": None if valid else ("irrelevance:called" if made else "relevance:no_call"), "error": []}
    if not calls:
        return {"valid": False, "error_type": "ast_decoder:decoder_wrong_output_format" if not attempted else "ast_decoder:decoder_failed",
                "error": ["no tool call" if not attempted else "the call could not be parsed"]}
    output = [{c.name: c.arguments} for c in calls]
    try:
        verdict = _bfcl().ast_checker(item.functions, output, item.answer, _language(item.category), item.category, MODEL_NAME)
    except Exception as exc:  # the checker's own failure on odd output: a failed item, never a crash
        return {"valid": False, "error_type": "checker:exception", "error": [f"{type(exc).__name__}: {exc}"]}
    if verdict["valid"]:  # the multiple checker leaves a stale error_type on some passes
        return {"valid": True, "error_type": None, "error": []}
    return {"valid": False, "error_type": verdict.get("error_type"), "error": list(verdict.get("error") or [])}
