"""`tooltune bench bfcl --base-url`: BFCL through the real `tooltune serve` over HTTP (OpenAI client,
tools sent natively, calls parsed by the server), scored exactly."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("bfcl_eval", reason="bfcl-eval is not installed (pip install --no-deps bfcl-eval==2026.3.23 && pip install -e '.[bfcl]')")

from typer.testing import CliRunner  # noqa: E402

from tooltune.cli import app  # noqa: E402
from tooltune.eval.bfcl import load_items  # noqa: E402
from tooltune.llm.base import LLM, Completion, GenerationRequest  # noqa: E402


class ByQuestion(LLM):
    """The served model: answers by the question; counts requests."""

    def __init__(self, book: dict[str, str]) -> None:
        self.book, self.requests = book, 0

    def complete(self, request: GenerationRequest, on_text=None) -> Completion:
        self.requests += 1
        text = self.book[request.messages[-1].content]
        if on_text:
            on_text(text)
        return Completion(text, finish_reason="stop", completion_tokens=5)


def call(name: str, arguments: dict) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


def test_bench_through_tooltune_serve(serve, tmp_path):
    simple = next(i for i in load_items(["simple_python"]) if i.id == "simple_python_205")
    irrelevant = load_items(["irrelevance"], limit=2)
    book = {
        simple.messages[-1].content: call("get_traffic_info", {"start_location": "Boston", "end_location": "New York", "mode": "driving"}),
        irrelevant[0].messages[-1].content: "None of these tools can answer that.",
        irrelevant[1].messages[-1].content: call(irrelevant[1].tools[0]["function"]["name"], {}),
    }
    llm = ByQuestion(book)
    with serve(llm, "json") as (base_url, _):
        # Only our three items: run the two categories with a limit, then check the simple item.
        out = tmp_path / "report"
        result = CliRunner().invoke(app, [
            "bench", "bfcl", "--base-url", base_url, "--model", "tooltune", "--categories", "irrelevance",
            "--limit", "2", "--out", str(out), "--batch-size", "2",
        ])
        assert result.exit_code == 0, result.output
        assert "| irrelevance | 1/2 (50.0 %) |" in result.output
        report = json.loads((out / "report.json").read_text())
        items = {r["item_id"]: r for r in report["runs"][0]["items"]}
        assert items[irrelevant[1].id]["error_type"] == "irrelevance:called"
        assert report["settings"]["format"] == "native"

        from tooltune.eval.bench import BenchSettings, run_items
        from tooltune.llm import make_llm

        client = make_llm("tooltune", base_url, concurrency=1)
        results, errors = run_items(client, [simple], BenchSettings(format="native"), tmp_path / "simple.jsonl")
    assert errors == {}
    assert results[0]["valid"] is True
    assert results[0]["calls"] == [{"name": "get_traffic_info", "arguments": {"start_location": "Boston", "end_location": "New York", "mode": "driving"}}]
    assert results[0]["completion"] == ""  # the server parsed the call: it came back structured
    assert llm.requests == 3
