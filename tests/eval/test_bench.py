"""`tooltune bench bfcl`: BFCL's own checker on its own ground truth, name conversion, exact scores
from a scripted model, resume, backend errors, and the corpus guard."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip("bfcl_eval", reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23 && pip install -e '.[bfcl]')")

from tooltune.errors import BackendError, TooltuneError  # noqa: E402
from tooltune.eval.bench import BenchSettings, run_bench, run_items  # noqa: E402
from tooltune.eval.bench_report import summarize, write_report  # noqa: E402
from tooltune.eval.bfcl import BenchItem, check, load_items, parse_categories  # noqa: E402
from tooltune.eval.evaluate import ModelSpec  # noqa: E402
from tooltune.llm.base import LLM, Completion, GenerationRequest  # noqa: E402
from tooltune.messages import ToolCall  # noqa: E402


def first_choice(value: Any) -> Any:
    """One acceptable value from BFCL's possible answers (lists of alternatives, nested)."""
    if isinstance(value, dict):  # alternatives per key, or a plain nested value
        picked = {k: v[0] if isinstance(v, list) and v else v for k, v in value.items()}
        return {k: first_choice(v) for k, v in picked.items() if v != ""}
    if isinstance(value, list):
        return [first_choice(v) for v in value]
    return value


def gold_calls(item: BenchItem) -> list[ToolCall]:
    calls = []
    for entry in item.answer or []:
        (name, params), = entry.items()
        calls.append(ToolCall(name.replace(".", "_"), {k: first_choice(v[0]) for k, v in params.items() if v and v[0] != ""}))
    return calls


def as_completion(calls: list[ToolCall]) -> str:
    return "\n".join(f"<tool_call>\n{json.dumps({'name': c.name, 'arguments': c.arguments})}\n</tool_call>" for c in calls)


@pytest.mark.parametrize("category", ["simple_python", "multiple", "parallel", "parallel_multiple", "live_simple", "live_multiple"])
def test_ground_truth_passes_bfcls_checker(category):
    items = load_items([category], limit=15, seed=0)
    assert len(items) == 15
    verdicts = [check(item, gold_calls(item), attempted=True) for item in items]
    assert [v["error_type"] for v in verdicts if not v["valid"]] == []


def test_a_wrong_argument_fails_with_the_checkers_error_type():
    item = next(i for i in load_items(["simple_python"], limit=50) if i.id == "simple_python_205")
    calls = gold_calls(item)
    assert check(item, calls, True)["valid"] is True
    calls[0].arguments["start_location"] = "Chicago"
    verdict = check(item, calls, True)
    assert verdict == {"valid": False, "error_type": "value_error:string", "error": verdict["error"]}
    assert "start_location" in verdict["error"][0]
    del calls[0].arguments["start_location"]
    assert check(item, calls, True)["error_type"] == "simple_function_checker:missing_required"
    assert check(item, [], attempted=False)["error_type"] == "ast_decoder:decoder_wrong_output_format"


def test_dotted_names_become_underscores_and_map_back():
    item = next(i for i in load_items(["parallel"], limit=200) if i.id == "parallel_0")
    assert item.functions[0]["name"] == "spotify.play"
    assert [t["function"]["name"] for t in item.tools] == ["spotify_play"]
    assert item.tools[0]["function"]["parameters"]["type"] == "object"  # BFCL's "dict" made OpenAI's
    gold = gold_calls(item)
    assert check(item, gold, True)["valid"] is True
    dotted = [ToolCall("spotify.play", c.arguments) for c in gold]
    assert check(item, dotted, True)["valid"] is False


def test_irrelevance_passes_only_without_a_call():
    item = load_items(["irrelevance"], limit=1)[0]
    assert item.answer is None and not item.expects_call
    assert check(item, [], attempted=False)["valid"] is True
    assert check(item, [], attempted=True) == {"valid": False, "error_type": "irrelevance:called", "error": []}


def test_categories_and_limits_are_checked():
    assert parse_categories(None) == ["simple_python", "multiple", "parallel", "irrelevance"]
    assert parse_categories("parallel, irrelevance,parallel") == ["parallel", "irrelevance"]
    with pytest.raises(TooltuneError, match="unknown BFCL category simple: use 'all'"):
        parse_categories("simple")
    with pytest.raises(TooltuneError, match="--limit"):
        load_items(["simple_python"], limit=0)
    a, b = load_items(["simple_python"], limit=5, seed=1), load_items(["simple_python", "parallel"], limit=5, seed=1)
    assert [i.id for i in a] == [i.id for i in b[:5]]  # adding a category never changes another's sample


class AnswerBook(LLM):
    """Answers each request from a table keyed by the question; records how often it was asked.
    `fail` names questions whose request raises BackendError (a broken server)."""

    def __init__(self, book: dict[str, str], fail: set[str] | None = None) -> None:
        self.book, self.fail, self.asked = book, fail or set(), []

    def complete(self, request: GenerationRequest, on_text=None) -> Completion:
        question = request.messages[-1].content
        self.asked.append(question)
        if question in self.fail:
            raise BackendError("HTTP 503: overloaded")
        return Completion(self.book[question], completion_tokens=7)


def scripted_book(items: list[BenchItem], wrong: set[str]) -> dict[str, str]:
    """Gold answers, except the items in `wrong`: a wrong value (call items) or a call (irrelevance)."""
    book = {}
    for item in items:
        question = item.messages[-1].content
        if item.expects_call:
            calls = gold_calls(item)
            if item.id in wrong:
                key = next(iter(calls[0].arguments))
                calls[0].arguments[key] = "certainly not this"
            book[question] = as_completion(calls)
        else:
            name = item.tools[0]["function"]["name"]
            book[question] = as_completion([ToolCall(name, {})]) if item.id in wrong else "I cannot help with that using these tools."
    return book


def test_a_scripted_model_gets_exact_scores_and_a_rerun_resumes(tmp_path):
    items = load_items(["simple_python", "parallel", "irrelevance"], limit=4, seed=0)
    wrong = {items[0].id, items[5].id, items[6].id, items[8].id}  # 1 simple, 2 parallel, 1 irrelevance
    llm = AnswerBook(scripted_book(items, wrong))
    loads = []
    spec = ModelSpec("scripted", lambda: loads.append(1) or llm)
    settings = BenchSettings(format="json")
    [run] = run_bench(items, [spec], settings, tmp_path, batch_size=3, progress=False)
    summary = summarize(run.results, ["simple_python", "parallel", "irrelevance"])
    assert {c: (s["passed"], s["total"]) for c, s in summary.items()} == {"simple_python": (3, 4), "parallel": (2, 4), "irrelevance": (3, 4)}
    assert summary["irrelevance"]["errors"] == {"irrelevance:called": 1}
    assert len(llm.asked) == 12 and loads == [1]
    [again] = run_bench(items, [spec], settings, tmp_path, batch_size=3, progress=False)
    assert loads == [1] and len(llm.asked) == 12  # all done: the model is not even loaded
    assert [r["valid"] for r in again.results] == [r["valid"] for r in run.results]
    report = write_report(tmp_path, [run], ["simple_python", "parallel", "irrelevance"], settings, {"limit": 4})
    assert report["runs"][0]["summary"]["parallel"]["accuracy"] == 50.0
    assert (tmp_path / "bfcl.png").read_bytes()[:4] == b"\x89PNG"
    saved = json.loads((tmp_path / "report.json").read_text())
    assert {r["item_id"] for r in saved["runs"][0]["items"]} == {i.id for i in items}
    with pytest.raises(TooltuneError, match=r"different settings \(max_tokens\)"):
        run_bench(items, [spec], BenchSettings(format="json", max_tokens=9), tmp_path, progress=False)


def test_backend_errors_are_left_unscored_and_retried_on_rerun(tmp_path):
    items = load_items(["simple_python"], limit=3, seed=0)
    book = scripted_book(items, set())
    broken = items[1].messages[-1].content
    results, errors = run_items(AnswerBook(book, fail={broken}), items, BenchSettings(), tmp_path / "r.jsonl", batch_size=2)
    assert [r["item_id"] for r in results] == [items[0].id, items[2].id]
    assert errors == {items[1].id: "HTTP 503: overloaded"}
    healed = AnswerBook(book)
    results, errors = run_items(healed, items, BenchSettings(), tmp_path / "r.jsonl", batch_size=2)
    assert healed.asked == [broken] and errors == {}
    assert [r["valid"] for r in results] == [True, True, True]


def test_benchmark_files_never_become_corpus(tmp_path):
    import bfcl_eval

    from tooltune.data.io import read_records
    from tooltune.train.dataset import load_samples

    data_file = next((__import__("pathlib").Path(bfcl_eval.__file__).parent / "data").glob("BFCL_v4_simple_python.json"))
    with pytest.raises(TooltuneError, match="benchmark data .bfcl_eval.: it is for evaluation only"):
        next(read_records(data_file))
    with pytest.raises(TooltuneError, match="benchmark data"):
        load_samples(data_file)
    copy = tmp_path / "mine.jsonl"
    copy.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n')
    assert next(read_records(copy))[1]["messages"][0]["content"] == "hi"


def test_a_prompt_past_the_context_is_a_failed_item_not_a_backend_error(tmp_path):
    from tooltune.llm.context import ContextLengthError

    class Small(AnswerBook):
        def complete(self, request, on_text=None):
            if request.messages[-1].content == self.too_long:
                raise ContextLengthError(9000, 8192)
            return super().complete(request, on_text)

    items = load_items(["simple_python"], limit=2, seed=0)
    llm = Small(scripted_book(items, set()))
    llm.too_long = items[0].messages[-1].content
    results, errors = run_items(llm, items, BenchSettings(), tmp_path / "r.jsonl", batch_size=1)
    assert errors == {}
    assert [(r["valid"], r["error_type"]) for r in results] == [(False, "context_length"), (True, None)]
    assert results[0]["error"] == ["prompt of 9000 tokens exceeds the model's context of 8192: shorten the conversation, "
                                   "tool results or tool list (the agent can fit it: --context-window)"]


def test_a_cut_off_call_fails_the_item_even_beside_a_right_one(tmp_path):
    items = load_items(["simple_python"], limit=1, seed=0)
    right = scripted_book(items, set())[items[0].messages[-1].content]
    cut = right + '\n<tool_call>\n{"name": "' + items[0].tools[0]["function"]["name"] + '", "arguments": {"x": "ab'
    [result], _ = run_items(AnswerBook({items[0].messages[-1].content: cut}), items, BenchSettings(), tmp_path / "r.jsonl")
    assert (result["valid"], result["error_type"]) == (False, "truncated_call")
    assert len(result["calls"]) == 1  # the complete call was read; the cut-off one is reported, not run


def test_constrained_settings_are_recorded_and_never_mix_with_free_ones(tmp_path):
    assert "constrain" not in BenchSettings().to_json()  # free runs resume results made before constraints existed
    assert BenchSettings(constrain=True).to_json()["constrain"] is True
    items = load_items(["simple_python"], limit=1)
    llm = AnswerBook(scripted_book(items, set()))
    run_bench(items, [ModelSpec("m", lambda: llm)], BenchSettings(), tmp_path, progress=False)
    with pytest.raises(TooltuneError, match=r"different settings \(constrain\)"):
        run_bench(items, [ModelSpec("m", lambda: llm)], BenchSettings(constrain=True), tmp_path, progress=False)
    from tooltune.eval.bench import _agent

    request = _agent(llm, items[0], BenchSettings(constrain=True)).request(items[0].messages)
    assert (request.constraint.syntax, request.constraint.tools) == ("json", items[0].tools)
    assert _agent(llm, items[0], BenchSettings()).request(items[0].messages).constraint is None
