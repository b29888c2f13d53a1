"""First-step accuracy of a model offered ALL tools of a pool vs the BM25 top-k for the question
(issue #17: does tool selection help a small model, or does it hide the tool it needs?).

Each item is cut after its first reference assistant turn and offered one of two tool sets: the
whole pool (plus the item's own tools, so the needed one is always there), or `select_tools` of
that set for the question — exactly what `tooltune run --max-tools K` offers. Both are scored by
the eval itself (EvalRunner teacher-forced steps: tool name EM, args EM), so "accuracy" here means
what it means in every eval report. Items whose first turn calls no tool (hard negatives) are
left out: recall@k has no needed tool to find there. benchmarks/selection_accuracy.py prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from tooltune.agent.selection import select_tools
from tooltune.eval.aggregate import summarize
from tooltune.eval.items import EvalItem
from tooltune.eval.runner import EvalRunner, EvalSettings
from tooltune.llm.base import LLM
from tooltune.messages import Sample
from tooltune.tools import ToolRegistry
from tooltune.toolspec import tool_name, tool_names


@dataclass
class Condition:
    """One way of offering tools, and the eval results of the items under it."""

    label: str
    results: list[dict[str, Any]] = field(default_factory=list)
    backend_errors: int = 0
    prompt_tokens: list[int] = field(default_factory=list)  # when the backend can count them

    def summary(self, window: int | None, max_tokens: int) -> dict[str, Any]:
        """Eval's own rates over the scored first steps, and how many prompts did not fit the
        model's context (a model reading past its window is not measuring tool choice)."""
        s = summarize(self.results) if self.results else {}
        over = sum(n + max_tokens > window for n in self.prompt_tokens) if window and self.prompt_tokens else None
        return {"label": self.label, "items": len(self.results), "backend_errors": self.backend_errors,
                **{k: s.get(k) for k in ("tool_name_em", "args_em", "format_validity", "call_recall")},
                "max_prompt_tokens": max(self.prompt_tokens, default=None), "over_context": over}


def first_step_item(item: EvalItem, tools: list[dict[str, Any]]) -> EvalItem | None:
    """`item` cut after its first reference assistant turn and offering `tools`; None when that turn
    calls no tool. Reference answers are dropped: only the first step is scored."""
    first = item.step_indices()[0]
    if not item.messages[first].tool_calls:
        return None
    return replace(item, sample=Sample(item.messages[: first + 1], tools), reference_answers=[])


def offered_sets(item: EvalItem, pool: list[dict[str, Any]], k: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(all tools, BM25 top-k) for an item: the pool plus the item's own tools missing from it, and
    the k of those that `select_tools` picks for the question (in the same order)."""
    names = set(tool_names(pool))
    everything = pool + [s for s in item.tools if tool_name(s) not in names]
    question = next((m.text for m in reversed(item.question()) if m.role == "user"), "")
    offered = ToolRegistry.from_openai(everything)
    chosen = (select_tools(offered, question, k) or offered).names  # None: all k or fewer are offered
    return everything, [s for s in everything if tool_name(s) in chosen]


def needed_tools(item: EvalItem) -> set[str]:
    """The tools the item's first reference turn calls (empty for a hard negative)."""
    return {c.name for c in item.messages[item.step_indices()[0]].tool_calls}


def recall_at_k(items: list[EvalItem], pools: dict[str, list[dict[str, Any]]], k: int) -> tuple[int, int]:
    """(hits, items): how many tool-calling items have every tool of their first step in the top-k."""
    hits = used = 0
    for item in items:
        needed = needed_tools(item)
        if needed:
            top = offered_sets(item, pools.get(item.lang, pools["en"]), k)[1]
            hits, used = hits + (needed <= set(tool_names(top))), used + 1
    return hits, used


def selection_accuracy(llm: LLM, items: list[EvalItem], pools: dict[str, list[dict[str, Any]]], k: int,
                       settings: EvalSettings, batch_size: int = 4, window: int | None = None) -> dict[str, Any]:
    """Score the first step of each tool-calling item with all tools vs the BM25 top-k, same model,
    format and items, plus recall@k (every tool of the first step is among the k). `pools` holds
    the pool's specs per language (bank tools are described in each); other languages use 'en'.
    `window`: the model's context, to count prompts that overflow it (backends with `prompt_ids`)."""
    settings = replace(settings, free_run=False, plan=False)
    runner = EvalRunner(llm, settings, batch_size=batch_size)
    conditions = {"all": Condition("all tools"), "top_k": Condition(f"BM25 top-{k}")}
    found, used, negatives = 0, 0, 0
    cut: dict[str, list[EvalItem]] = {"all": [], "top_k": []}
    for item in items:
        everything, top = offered_sets(item, pools.get(item.lang, pools["en"]), k)
        whole = first_step_item(item, everything)
        if whole is None:
            negatives += 1
            continue
        used += 1
        found += needed_tools(item) <= set(tool_names(top))
        cut["all"].append(whole)
        cut["top_k"].append(first_step_item(item, top))  # type: ignore[arg-type]
    count = getattr(llm, "prompt_ids", None)
    for key, todo in cut.items():
        if count is not None:
            conditions[key].prompt_tokens = [len(count(runner.agent_for(i)[0].request(i.question()))) for i in todo]
        for start in range(0, len(todo), batch_size):
            for result in runner.evaluate_batch(todo[start : start + batch_size]):
                if "backend_error" in result:
                    conditions[key].backend_errors += 1
                else:
                    conditions[key].results.append(result)
    return {
        "items": used, "skipped_no_call": negatives, "k": k, "recall_at_k": found / used if used else None,
        "all": conditions["all"].summary(window, settings.max_tokens), "top_k": conditions["top_k"].summary(window, settings.max_tokens),
        "results": {key: c.results for key, c in conditions.items()},
    }
