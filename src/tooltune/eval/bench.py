"""`tooltune bench`: a standard benchmark (BFCL) run on any model — local in-process or an endpoint.

The prompt is built and the completion parsed by the agent (`Agent.request` / `Agent.parse`), so
the benchmark sees exactly what `tooltune run` and `tooltune serve` would send and understand;
only the verdict is BFCL's (`tooltune.eval.bfcl.check`). Local models generate in batches with
prefix reuse; an endpoint gets bounded concurrent requests (the OpenAI backend's limit).

Resumable like `tooltune eval`: each finished item is appended (fsync'ed) to
`runs/<model>__<format>.jsonl` beside a `.meta.json` of the settings that made it; a rerun with
the same settings skips those items — whatever `--limit`, `--seed` or `--categories` select, an
item's result depends only on its id and the settings. A request the backend fails is retried
by the backend, then left unscored and reported (a rerun tries it again), never scored as an answer;
a prompt past the model's context is the model's limit, not a glitch: a failed item (`context_length`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tooltune.agent import Agent
from tooltune.errors import BackendError, TooltuneError
from tooltune.eval.bfcl import BFCL_VERSION, BenchItem, check
from tooltune.eval.evaluate import ModelSpec, _safe, prepare_run
from tooltune.eval.runner import append_result, load_results
from tooltune.formats import FORMATS, get_format
from tooltune.lang import check_lang
from tooltune.llm.base import LLM, Completion
from tooltune.llm.context import ContextLengthError
from tooltune.tools import Tool, ToolRegistry


@dataclass
class BenchSettings:
    """Everything that changes an item's result; stored beside the results (no mixed resumes)."""

    format: str = "json"
    lang: str = "en"
    max_tokens: int = 256
    temperature: float = 0.0
    tool_role: str = "user"
    constrain: bool = False  # tool calls held to the offered schemas while decoding (formats.grammar)

    def to_json(self) -> dict[str, Any]:
        """Free settings as they were before constraints existed (free results still resume);
        constrained results carry `constrain: true` and never mix with free ones."""
        out = asdict(self)
        if not self.constrain:
            del out["constrain"]
        return out

    def validate(self) -> None:
        if self.format not in FORMATS:
            raise TooltuneError(f"unknown format {self.format!r}: use one of {', '.join(FORMATS)}")
        check_lang(self.lang)
        if self.max_tokens < 1:
            raise TooltuneError("--max-tokens must be at least 1")


@dataclass
class BenchRun:
    """One model's results over the items (in item order) and the items the backend failed."""

    model: str
    format: str
    results: list[dict[str, Any]]
    backend_errors: dict[str, str]


def _agent(llm: LLM, item: BenchItem, settings: BenchSettings) -> Agent:
    fmt = get_format(settings.format, settings.lang, settings.tool_role)
    if hasattr(fmt, "use_model") and getattr(llm, "tokenizer", None) is not None:
        fmt.use_model(llm.tokenizer)  # native: the model family's own tool-call parser
    registry = ToolRegistry([Tool.from_openai(spec) for spec in item.tools])
    return Agent(llm, registry, fmt, settings.lang, max_tokens=settings.max_tokens, temperature=settings.temperature,
                 constrain=settings.constrain)


def score_item(item: BenchItem, agent: Agent, completion: Completion) -> dict[str, Any]:
    """The item's result row: what the model wrote, what tooltune parsed, BFCL's verdict.
    A completion that breaks the format (parsed `invalid`, not empty) counts as a call attempt;
    a call cut off mid-way (`Parsed.truncated`) fails the item even beside complete calls."""
    parsed = agent.parse(completion)
    calls = parsed.calls if parsed.kind == "tool_calls" else []
    attempted = parsed.kind == "tool_calls" or (parsed.kind == "invalid" and bool(completion.text.strip()))
    verdict = check(item, calls, attempted or bool(parsed.truncated))
    if parsed.truncated and verdict["valid"] and item.expects_call:  # a cut-off call is never a right answer
        verdict = {"valid": False, "error_type": "truncated_call", "error": list(parsed.truncated)}
    return {
        "item_id": item.id, "category": item.category, "completion": completion.text,
        "completion_tokens": completion.completion_tokens, "parsed": parsed.to_json(),
        "calls": [{"name": c.name, "arguments": c.arguments} for c in calls], **verdict,
    }


def run_items(llm: LLM, items: list[BenchItem], settings: BenchSettings, results_path: Path, batch_size: int = 8,
              on_item: Callable[[dict[str, Any]], None] | None = None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Score the items not yet in `results_path`, appending each; returns all results in item
    order (old and new) and the backend errors by item id (those items stay unscored)."""
    if batch_size < 1:
        raise TooltuneError("--batch-size must be at least 1")
    done = load_results(results_path)
    todo = [i for i in items if i.id not in done]
    # Items with the same tools side by side: a batch shares more of its prompt prefix.
    todo.sort(key=lambda i: (i.category, len(str(i.tools))))
    errors: dict[str, str] = {}
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        agents = [_agent(llm, item, settings) for item in chunk]
        outcomes = llm.complete_each([a.request(item.messages) for a, item in zip(agents, chunk)])
        for item, agent, outcome in zip(chunk, agents, outcomes):
            if isinstance(outcome, ContextLengthError):  # the model cannot take the item: a failure, not a glitch
                result = {"item_id": item.id, "category": item.category, "completion": "", "completion_tokens": 0, "parsed": None,
                          "calls": [], "valid": False, "error_type": "context_length", "error": [str(outcome)]}
                append_result(results_path, result)
                done[item.id] = result
            elif isinstance(outcome, BackendError):
                errors[item.id] = str(outcome)
                result: dict[str, Any] = {"item_id": item.id, "backend_error": str(outcome)}
            else:
                result = score_item(item, agent, outcome)
                append_result(results_path, result)
                done[item.id] = result
            if on_item:
                on_item(result)
    return [done[i.id] for i in items if i.id in done], errors


def run_bench(items: list[BenchItem], models: list[ModelSpec], settings: BenchSettings, out_dir: str | Path,
              batch_size: int = 8, restart: bool = False, progress: bool = True) -> list[BenchRun]:
    """Every model over the same items; a model whose items are all done is never loaded."""
    from tqdm import tqdm

    settings.validate()
    run_dir = Path(out_dir) / "runs"
    run_dir.mkdir(parents=True, exist_ok=True)
    runs = []
    for spec in models:
        fingerprint = {"model": spec.label, "benchmark": f"bfcl-eval {BFCL_VERSION}", **settings.to_json()}
        path = prepare_run(run_dir, f"{_safe(spec.label)}__{settings.format}", fingerprint, restart)
        done = load_results(path)
        if all(item.id in done for item in items):
            runs.append(BenchRun(spec.label, settings.format, [done[i.id] for i in items], {}))
            continue
        llm = spec.load()
        initial = sum(1 for i in items if i.id in done)
        with tqdm(total=len(items), initial=initial, desc=f"{spec.label} · bfcl", unit="item", disable=not progress) as bar:
            results, errors = run_items(llm, items, settings, path, batch_size, on_item=lambda _: bar.update(1))
        runs.append(BenchRun(spec.label, settings.format, results, errors))
        del llm  # one model in memory at a time
    return runs
