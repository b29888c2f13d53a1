"""Preference pairs from the model's own mistakes (`tooltune pairs mine`).

The model is run teacher-forced over train-side items, exactly as the eval runs it
(`EvalRunner`: the agent's prompt, its parser, `score_step`'s AST comparison). Every step it gets
wrong becomes a pair with the same gold prefix: `rejected` = the model's step as a canonical
message, `chosen` = the reference step. The rows are `StepPair.to_trl()`, the shape
`export --format dpo` writes, so mined and human-edit pairs mix in one file.

Mistake kinds (what DPO is known to help with: when not to call, and which of similar tools):
wrong_tool, missing_argument, extra_argument, wrong_value, call_where_none_fits (a call on a
step that should answer), no_call (an answer or refusal where a call was expected),
too_few_calls (one call where several were asked), too_many_calls, refused_answer (a refusal —
chat_check.REFUSAL — where the reference answers, e.g. a knowledge question: the step scorer
counts any text as right where no call is due, so this one is read from the text). A completion that does not
parse has no canonical form to prefer against, so it is counted (`unparsable`) but paired with
nothing; items offering a held-out tool are skipped, so mining never touches evaluation tools.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooltune.data.pairs import StepPair
from tooltune.errors import TooltuneError
from tooltune.eval.chat_check import REFUSAL
from tooltune.eval.items import EvalItem, StepRef
from tooltune.eval.metrics import without_defaults
from tooltune.eval.runner import EvalRunner, EvalSettings
from tooltune.formats import FORMATS
from tooltune.formats.parsing import tool_params
from tooltune.llm.base import LLM
from tooltune.messages import Message, ToolCall, new_call_id
from tooltune.toolspec import tool_names

KINDS = ("wrong_tool", "missing_argument", "extra_argument", "wrong_value", "call_where_none_fits", "no_call",
         "too_few_calls", "too_many_calls", "refused_answer")


@dataclass
class MineResult:
    pairs: list[StepPair] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)  # pairs per mistake kind
    steps: int = 0  # steps scored
    right: int = 0
    unparsable: int = 0
    duplicates: int = 0  # the same pair again (e.g. from a second format)
    held_out_skipped: int = 0  # items offering a held-out tool
    backend_errors: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)  # per pair: item, step, format, kind

    def summary(self) -> dict[str, Any]:
        return {"pairs": len(self.pairs), "kinds": {k: self.kinds.get(k, 0) for k in KINDS}, "steps": self.steps, "right": self.right,
                "unparsable": self.unparsable, "duplicates": self.duplicates, "held_out_skipped": self.held_out_skipped,
                "backend_errors": self.backend_errors}


def _calls(parsed: dict[str, Any]) -> list[ToolCall]:
    return [ToolCall(c["name"], c["arguments"], new_call_id()) for c in parsed.get("calls") or []]


def mistake_kind(expected: list[ToolCall], step: dict[str, Any], tools: list[dict[str, Any]], reference_text: str | None = None) -> str | None:
    """What is wrong with a scored step (a row of `EvalRunner`'s "steps"), or None when it is right.
    `reference_text`: the reference step's text, to tell a refusal of an answerable question."""
    parsed = step["parsed"]
    if (not expected and parsed["kind"] == "final" and reference_text and REFUSAL.search(parsed.get("content") or "")
            and not REFUSAL.search(reference_text)):
        return "refused_answer"
    if step["args_match"]:
        return None
    if parsed["kind"] == "invalid":
        return "unparsable"
    made = _calls(parsed) if parsed["kind"] == "tool_calls" else []
    if not expected:
        return "call_where_none_fits"
    if not made:
        return "no_call"
    if len(made) != len(expected):
        return "too_few_calls" if len(made) < len(expected) else "too_many_calls"
    if not step["name_match"]:
        return "wrong_tool"
    unused = list(made)
    for exp in expected:  # same names: pair each expected call with a made call of its name
        schema = tool_params(tools, exp.name)
        want = set(without_defaults(exp.arguments, schema))
        same = [c for c in unused if c.name == exp.name]
        got = next((c for c in same if set(without_defaults(c.arguments, schema)) == want), same[0])
        unused.remove(got)
        have = set(without_defaults(got.arguments, schema))
        if want - have:
            return "missing_argument"
        if have - want:
            return "extra_argument"
    return "wrong_value"


def model_step(parsed: dict[str, Any]) -> Message:
    """The model's parsed step as a canonical assistant message (rendered like any other step)."""
    reasoning = parsed.get("reasoning") or None
    if parsed["kind"] == "tool_calls":
        return Message("assistant", parsed.get("content") or None, _calls(parsed), reasoning_content=reasoning)
    return Message("assistant", parsed.get("content") or "", reasoning_content=reasoning)


def reference_step(item: EvalItem, ref: StepRef) -> Message:
    """The gold step; for one call of a parallel step (ReAct asks for them one at a time) that call
    alone, with the step's reasoning only before its first call, as the format renders it."""
    gold = item.messages[ref.index]
    if ref.part is None:
        return gold
    return Message("assistant", None, list(ref.expected), reasoning_content=gold.reasoning_content if ref.part == 0 else None)


def offers(item: EvalItem, names: set[str]) -> bool:
    return bool(names & set(tool_names(item.tools)))


def mine_pairs(llm: LLM, items: list[EvalItem], formats: list[str], held_out: set[str] | None = None, batch_size: int = 4,
               max_tokens: int = 256, on_item: Any = None, log_dir: str | Path | None = None) -> MineResult:
    """Run `llm` teacher-forced over `items` in each format and pair every wrong step.

    Each item's scored steps are appended to `log_dir/<format>.jsonl` as it finishes (the eval's
    own resumable log), so an interrupted run goes on where it stopped: only the caller knows
    which model made those steps, so it names a `log_dir` per model and settings."""
    result = MineResult()
    usable = [i for i in items if not offers(i, held_out or set())]
    result.held_out_skipped = len(items) - len(usable)
    by_id = {i.id: i for i in usable}
    seen: set[tuple[Any, ...]] = set()
    with contextlib.ExitStack() as stack:
        logs = Path(log_dir) if log_dir is not None else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tooltune-mine-")))
        for fmt in formats:
            runner = EvalRunner(llm, EvalSettings(format=fmt, max_tokens=max_tokens, free_run=False), batch_size=batch_size)
            for scored in runner.run(usable, logs / f"{fmt}.jsonl", on_item=on_item):
                _collect(result, by_id[scored["item_id"]], scored["steps"], fmt, seen)
            result.backend_errors += len(runner.backend_errors)
    return result


def _collect(result: MineResult, item: EvalItem, steps: list[dict[str, Any]], fmt: str, seen: set[tuple[Any, ...]]) -> None:
    refs = {(r.index, r.part): r for r in item.reference_steps(FORMATS[fmt].one_call_per_completion)}
    for step in steps:
        ref = refs[(step["index"], step["part"])]
        result.steps += 1
        kind = mistake_kind(ref.expected, step, item.tools, reference_step(item, ref).content)
        if kind is None:
            result.right += 1
            continue
        if kind == "unparsable":
            result.unparsable += 1
            continue
        pair = StepPair(list(ref.prefix), reference_step(item, ref), model_step(step["parsed"]), item.tools)
        if pair.same_step:  # right by the parser's reading yet scored wrong: nothing to prefer
            result.right += 1
            continue
        key = pair.key()
        if key in seen:
            result.duplicates += 1
            continue
        seen.add(key)
        result.pairs.append(pair)
        result.kinds[kind] += 1
        result.records.append({"item_id": item.id, "index": step["index"], "part": step["part"], "format": fmt, "kind": kind})


def held_out_names(items: list[EvalItem]) -> set[str]:
    """Tool names an eval set offers (its held-out tools and their distractors): never mined."""
    return {name for item in items for name in tool_names(item.tools)}


def mix_mined(pair_files: list[Path], caps: dict[str, int]) -> tuple[list[str], Counter[str]]:
    """The rows of mined pair files, in order, keeping at most `caps[kind]` pairs of each kind (the
    rest: all). DPO learns what its pairs prefer, so run 1's 43 pairs preferring one more call
    against one preferring none taught calling everywhere (docs/results.md, the DPO runs): capping kinds is
    how a mix is balanced. Each file needs the report `pairs mine` wrote beside it."""
    kept: Counter[str] = Counter()
    rows: list[str] = []
    for path in pair_files:
        detail = json.loads(path.with_suffix(".report.json").read_text(encoding="utf-8"))["pairs_detail"]
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(detail) != len(lines):
            raise TooltuneError(f"{path}: {len(lines)} pairs but {len(detail)} in its report; mix the pairs file as `tooltune pairs mine` wrote it")
        for record, line in zip(detail, lines):
            cap = caps.get(record["kind"])
            if cap is None or kept[record["kind"]] < cap:
                kept[record["kind"]] += 1
                rows.append(line)
    return rows, kept
