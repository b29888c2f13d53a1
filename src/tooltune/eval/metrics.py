"""Per-step metrics: AST-style argument match, fuzzy argument similarity and the combined score.

Why AST-style: a call is right when it *means* the same thing, not when its JSON text is equal.
So values are compared type-aware (numbers by value, `70` vs `"70"` only when allowed), parallel
calls in any order, and an optional argument may be left out or given its schema default. The
fuzzy score (ROUGE-L, with BLEU reported beside it) gives partial credit for near-miss strings
such as a search query with one word changed; both come from maintained libraries. The seeds'
combined score is `EM(tool) + λ · fuzzy(args)`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tooltune.formats.parsing import tool_params
from tooltune.messages import ToolCall

_MISSING = object()


@dataclass(frozen=True)
class MatchOptions:
    """How strict the argument comparison is.

    string_numbers: accept `"70"` for `70` (and the reverse); off by default because a model that
        sends a string where the schema asks for a number has made a real (if forgivable) error.
    normalize_strings: compare strings case-insensitively with whitespace collapsed.
    """

    string_numbers: bool = False
    normalize_strings: bool = False


# -- exact (AST) comparison ---------------------------------------------------------------------
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(value: Any) -> float | None:
    if _is_number(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def values_equal(expected: Any, predicted: Any, schema: dict[str, Any] | None = None, opts: MatchOptions = MatchOptions()) -> bool:
    """Type-aware equality of two JSON values; `schema` (the JSON Schema of `expected`) supplies
    defaults for nested objects."""
    schema = schema or {}
    if _is_number(expected) and _is_number(predicted):
        return math.isclose(float(expected), float(predicted), rel_tol=1e-9, abs_tol=1e-12)
    if opts.string_numbers and (_is_number(expected) or _is_number(predicted)):
        a, b = _as_number(expected), _as_number(predicted)
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(expected, str) and isinstance(predicted, str):
        if opts.normalize_strings:
            return " ".join(expected.lower().split()) == " ".join(predicted.lower().split())
        return expected == predicted
    if isinstance(expected, dict) and isinstance(predicted, dict):
        return objects_equal(expected, predicted, schema, opts)
    if isinstance(expected, list) and isinstance(predicted, list):
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return len(expected) == len(predicted) and all(values_equal(e, p, items, opts) for e, p in zip(expected, predicted))
    return type(expected) is type(predicted) and expected == predicted  # bool, None


def objects_equal(expected: dict[str, Any], predicted: dict[str, Any], schema: dict[str, Any] | None = None, opts: MatchOptions = MatchOptions()) -> bool:
    """Objects match key by key; a key present on one side only is fine when it is not required
    and the side that has it gives the schema default."""
    schema = schema or {}
    props = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    for key in set(expected) | set(predicted):
        sub = props.get(key) if isinstance(props.get(key), dict) else {}
        exp_value, pred_value = expected.get(key, _MISSING), predicted.get(key, _MISSING)
        if exp_value is _MISSING or pred_value is _MISSING:
            present = pred_value if exp_value is _MISSING else exp_value
            if key in required or "default" not in sub or not values_equal(sub["default"], present, sub, opts):
                return False
        elif not values_equal(exp_value, pred_value, sub, opts):
            return False
    return True


def match_calls(expected: list[ToolCall], predicted: list[ToolCall], tools: list[dict[str, Any]], opts: MatchOptions = MatchOptions()) -> bool:
    """All calls match one-to-one, in any order (parallel calls are a set, not a sequence).
    Greedy pairing is exact here because call equality is an equivalence relation."""
    if len(expected) != len(predicted):
        return False
    unused = list(predicted)
    for exp in expected:
        schema = tool_params(tools, exp.name)
        hit = next((p for p in unused if p.name == exp.name and objects_equal(exp.arguments, p.arguments, schema, opts)), None)
        if hit is None:
            return False
        unused.remove(hit)
    return True


def names_match(expected: list[ToolCall], predicted: list[ToolCall]) -> bool:
    """Tool-name exact match: the same multiset of tool names."""
    return sorted(c.name for c in expected) == sorted(c.name for c in predicted)


# -- fuzzy comparison -----------------------------------------------------------------------
_TOKEN = re.compile(r"[\u4e00-\u9fff]|[^\W\u4e00-\u9fff]+|[^\w\s]", re.UNICODE)


def without_defaults(arguments: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Drop optional arguments that equal their schema default: passing `top_k=3` when 3 is the
    default says nothing different, so it must not change the fuzzy score either."""
    props, required = schema.get("properties") or {}, set(schema.get("required") or [])
    return {
        k: v for k, v in arguments.items()
        if k in required or not isinstance(props.get(k), dict) or "default" not in props[k] or not values_equal(props[k]["default"], v, props[k])
    }


def argument_text(arguments: dict[str, Any]) -> str:
    """The argument values as one space-separated token string (keys sorted, nested flattened):
    words lower-cased, punctuation and operators kept as tokens (`2+3` is not `2-3`), Chinese
    split per character so partial matches of Chinese queries get credit."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key in sorted(value):
                walk(value[key])
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif value is not None:
            parts.append(value if isinstance(value, str) else json.dumps(value))

    walk(arguments)
    return " ".join(_TOKEN.findall(" ".join(parts).lower()))


class _Whitespace:
    """rouge-score's default tokenizer drops non-ASCII (all Chinese); ours is pre-tokenised."""

    def tokenize(self, text: str) -> list[str]:
        return text.split()


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Whitespace())


@lru_cache(maxsize=1)
def _bleu() -> Any:
    from sacrebleu.metrics import BLEU

    return BLEU(effective_order=True, tokenize="none")


def text_similarity(reference: str, hypothesis: str) -> tuple[float, float]:
    """(ROUGE-L F1, sentence BLEU / 100) of two pre-tokenised strings; two empty strings are equal."""
    if not reference and not hypothesis:
        return 1.0, 1.0
    if not reference or not hypothesis:
        return 0.0, 0.0
    rouge = _rouge().score(reference, hypothesis)["rougeL"].fmeasure
    bleu = _bleu().sentence_score(hypothesis, [reference]).score / 100.0
    return min(1.0, float(rouge)), min(1.0, float(bleu))


def fuzzy_calls(expected: list[ToolCall], predicted: list[ToolCall], tools: list[dict[str, Any]] | None = None) -> tuple[float, float]:
    """(ROUGE-L, BLEU) over argument values, averaged over max(#expected, #predicted) calls.
    Each expected call pairs with the unused predicted call of the same name it resembles most;
    calls without a partner score 0, so extra or missing calls cost fuzzy credit too."""
    if not expected and not predicted:
        return 1.0, 1.0
    unused = list(predicted)
    rouge_sum = bleu_sum = 0.0
    for exp in expected:
        candidates = [p for p in unused if p.name == exp.name]
        if not candidates:
            continue
        schema = tool_params(tools or [], exp.name)
        ref = argument_text(without_defaults(exp.arguments, schema))
        scored = [(text_similarity(ref, argument_text(without_defaults(p.arguments, schema))), p) for p in candidates]
        (rouge, bleu), best = max(scored, key=lambda s: s[0])
        unused.remove(best)
        rouge_sum += rouge
        bleu_sum += bleu
    n = max(len(expected), len(predicted))
    return rouge_sum / n, bleu_sum / n


# -- one step -------------------------------------------------------------------------------
@dataclass
class StepScore:
    """How one model step compares to the reference step."""

    valid: bool  # the completion parsed (tool calls or a final answer)
    strict: bool  # … and followed the format's markers (not plain text taken leniently)
    expect_call: bool
    called: bool
    name_match: bool  # the same tool names (or, for a no-call step, no call)
    args_match: bool  # name match and AST-equal arguments (no-call step: no call)
    rouge_l: float
    bleu: float
    score: float  # EM(tool) + λ · fuzzy(args), fuzzy = ROUGE-L
    truncated: int = 0  # calls the completion was cut off inside (never run, never right)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def score_step(
    expected: list[ToolCall], parsed_kind: str, predicted: list[ToolCall], strict: bool,
    tools: list[dict[str, Any]], opts: MatchOptions = MatchOptions(), lam: float = 1.0, truncated: int = 0,
) -> StepScore:
    """Score a parsed completion against the reference step (`expected` empty = answer, no call).
    A no-call step is all-or-nothing: right (no call) scores 1 + λ, a call scores 0, so both kinds
    of step live on the same 0..1+λ scale. `truncated` (`len(Parsed.truncated)`) counts calls cut
    off mid-way: such a step is never a name or argument match, and each cut-off call counts as
    a call without a partner in the fuzzy average."""
    valid = parsed_kind != "invalid"
    called = parsed_kind == "tool_calls" and bool(predicted)
    predicted = predicted if called else []
    if not expected:
        right = valid and not called and not truncated
        return StepScore(valid, valid and strict, False, called, right, right, float(right), float(right), (1 + lam) * right, truncated)
    name_ok = called and not truncated and names_match(expected, predicted)
    args_ok = name_ok and match_calls(expected, predicted, tools, opts)
    rouge, bleu = fuzzy_calls(expected, predicted, tools) if called else (0.0, 0.0)
    if truncated and called:  # the average runs over the cut-off calls too
        share = max(len(expected), len(predicted)) / max(len(expected), len(predicted) + truncated)
        rouge, bleu = rouge * share, bleu * share
    return StepScore(valid, valid and strict, True, called, name_ok, args_ok, rouge, bleu, float(name_ok) + lam * rouge, truncated)
