"""Eval items: canonical samples whose assistant turns are the reference.

An item is one `{"messages": [...], "tools": [...]}` line, the same canonical shape as the corpus,
plus optional keys that say how to check it:

- `id`: a stable name (default: `line<N>` / `sample<id>`), used to resume an interrupted eval;
- `expect_tool_call`: false for a hard negative (default: whether any assistant turn calls a tool);
- `lang`: `en` / `zh` (default: `zh` if the first user message contains Chinese);
- `reference_answer`: a string or list of accepted strings for the end-to-end check;
- `answer_match`: `contains` (default) | `exact` | `judge`;
- `human_score` / `human_comment`: a person's 0–5 rubric score of the reference sample.

Every assistant turn is a reference *step*: teacher forcing asks the model for step k given the
gold messages before it. `corpus.db` files are read through the data store (approved samples).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError, located
from tooltune.lang import dialogue_lang
from tooltune.messages import Message, Sample, ToolCall, read_jsonl

ANSWER_MATCHES = ("contains", "exact", "judge")


@dataclass
class StepRef:
    """One scored step: the gold prefix the model continues and the reference it should produce."""

    index: int  # message index of the reference assistant turn
    prefix: list[Message]
    expected: list[ToolCall]
    part: int | None = None  # which call of a parallel step, when the format emits one per completion


@dataclass
class EvalItem:
    id: str
    sample: Sample
    expect_tool_call: bool
    lang: str
    reference_answers: list[str] = field(default_factory=list)
    answer_match: str = "contains"
    human_score: int | None = None
    human_comment: str = ""

    @property
    def messages(self) -> list[Message]:
        return self.sample.messages

    @property
    def tools(self) -> list[dict[str, Any]]:
        return self.sample.tools

    def step_indices(self) -> list[int]:
        """Indices of the reference assistant turns (the steps a model is scored on)."""
        return [i for i, m in enumerate(self.messages) if m.role == "assistant"]

    def expected_calls(self, index: int) -> list[ToolCall]:
        return list(self.messages[index].tool_calls)

    def reference_steps(self, one_call_per_completion: bool = False) -> list[StepRef]:
        """Every reference step with its gold prefix (teacher forcing). In a format that stops
        generating after each call (ReAct stops at `Observation:`), a parallel step of k calls is
        k steps: call j is asked for after calls 0..j-1 and their results, exactly as that format
        renders parallel calls for training."""
        steps = []
        for index in self.step_indices():
            msg = self.messages[index]
            calls = msg.tool_calls
            if not one_call_per_completion or len(calls) < 2:
                steps.append(StepRef(index, self.messages[:index], list(calls)))
                continue
            results = {m.tool_call_id: m for m in self.messages[index + 1 :] if m.role == "tool"}
            for j, call in enumerate(calls):
                done = calls[:j]
                partial = [Message("assistant", None, tool_calls=list(done), reasoning_content=msg.reasoning_content)] if done else []
                partial += [results[c.id] for c in done if c.id in results]
                steps.append(StepRef(index, self.messages[:index] + partial, [call], j))
        return steps

    def reference_call_groups(self) -> list[list[ToolCall]]:
        """The reference calls, one group per assistant turn (a group = parallel calls)."""
        return [list(self.messages[i].tool_calls) for i in self.step_indices() if self.messages[i].tool_calls]

    def question(self) -> list[Message]:
        """The gold prefix before the first assistant step: where free-running starts."""
        return self.messages[: self.step_indices()[0]]

    def reference_tools(self) -> list[str]:
        """Tools the reference trajectory calls, in order, for per-tool statistics."""
        return [c.name for i in self.step_indices() for c in self.messages[i].tool_calls]


def make_item(item_id: str, sample: Sample, extra: dict[str, Any], where: str) -> EvalItem:
    """Validate a sample as an eval item; `where` names it in error messages."""
    if not any(m.role == "assistant" for m in sample.messages):
        raise TooltuneError(f"{where}: an eval item needs at least one assistant turn (the reference); add the expected call or answer")
    if sample.messages[0].role == "assistant" or not any(m.role == "user" for m in sample.messages):
        raise TooltuneError(f"{where}: an eval item must start with a user (or system) message before the reference assistant turn")
    has_call = any(m.tool_calls for m in sample.messages if m.role == "assistant")
    expect = extra.get("expect_tool_call")
    expect = has_call if expect is None else bool(expect)
    if expect and not has_call:
        raise TooltuneError(f"{where}: expect_tool_call is true but no assistant turn calls a tool; add the expected tool_calls")
    refs = extra.get("reference_answer")
    refs = [refs] if isinstance(refs, str) else list(refs or [])
    if not all(isinstance(r, str) and r.strip() for r in refs):
        raise TooltuneError(f"{where}: reference_answer must be a non-empty string or a list of them")
    match = extra.get("answer_match") or "contains"
    if match not in ANSWER_MATCHES:
        raise TooltuneError(f"{where}: unknown answer_match {match!r}; use one of {', '.join(ANSWER_MATCHES)}")
    score = extra.get("human_score")
    if score is not None and (not isinstance(score, int) or not 0 <= score <= 5):
        raise TooltuneError(f"{where}: human_score must be an integer 0-5 (0 = violation), got {score!r}")
    return EvalItem(
        id=str(extra.get("id") or item_id), sample=sample, expect_tool_call=expect,
        lang=extra.get("lang") or dialogue_lang(sample.messages), reference_answers=refs, answer_match=match,
        human_score=score, human_comment=extra.get("human_comment") or "",
    )


def _from_jsonl(path: Path) -> Iterator[EvalItem]:
    for lineno, obj in read_jsonl(path):
        if not isinstance(obj, dict):
            raise TooltuneError(f"{path}:{lineno}: each line must be a JSON object with 'messages' and 'tools'")
        with located(f"{path}:{lineno}"):
            try:
                sample = Sample.from_openai(obj)
            except (KeyError, ValueError, TypeError) as exc:
                raise TooltuneError(f"not a canonical sample ({type(exc).__name__}: {exc})") from None
        yield make_item(f"line{lineno}", sample, obj, f"{path}:{lineno}")


def _from_store(path: Path, status: str) -> Iterator[EvalItem]:
    from tooltune.data.store import Store

    store = Store(path)
    try:
        for stored in store.samples(status=status):
            extra = {
                "expect_tool_call": stored.expect_tool_call, "lang": stored.lang,
                "human_score": stored.human_score, "human_comment": stored.human_comment,
                **{k: v for k, v in (stored.meta or {}).items() if k in ("reference_answer", "answer_match")},
            }
            yield make_item(f"sample{stored.id}", stored.sample, extra, f"{path} sample {stored.id}")
    finally:
        store.close()


def load_items(path: str | Path, status: str = "approved", limit: int | None = None) -> list[EvalItem]:
    """Eval items from a `.jsonl` file or a `corpus.db` (its samples with `status`)."""
    path = Path(path)
    if not path.exists():
        raise TooltuneError(f"{path}: no such file; pass an eval .jsonl or a corpus.db")
    source = _from_store(path, status) if path.suffix in (".db", ".sqlite", ".sqlite3") else _from_jsonl(path)
    items: list[EvalItem] = []
    seen: set[str] = set()
    for item in source:
        if item.id in seen:
            raise TooltuneError(f"{path}: duplicate item id {item.id!r}; ids must be unique so a resumed eval can skip done items")
        seen.add(item.id)
        items.append(item)
        if limit is not None and len(items) >= limit:
            break
    if not items:
        raise TooltuneError(f"{path}: no eval items found" + (f" with status {status!r}" if path.suffix == ".db" else ""))
    return items


def smoke_eval_path() -> Path:
    """The small eval set shipped with tooltune (built-in tools, English and Chinese)."""
    return Path(__file__).resolve().parent / "data" / "smoke_eval.jsonl"
