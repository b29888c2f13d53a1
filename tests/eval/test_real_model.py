"""End-to-end: `tooltune eval` on the embedded SmolLM2 (the raw base, so the numbers do not move
when a new adapter ships) over the shipped smoke set (its first four items — en and zh, calls, a
parallel multi-step item, hard negatives — in one format, short completions, batched, greedy),
plus `native`, which its chat template cannot do. The full set in
every format is `tooltune eval --formats react,json,native` (numbers in docs/evaluation.md)."""

import json

import pytest
from typer.testing import CliRunner

from tooltune.cli import app


@pytest.fixture
def one_torch_thread():
    """On a busy 2-core machine two OpenMP threads stall each other (measured: a batch of 4 took
    86 s with 2 threads under load, 8 s with 1); one thread keeps this test's runtime predictable."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_cli_eval_of_the_embedded_model_on_the_smoke_set(tmp_path, one_torch_thread):
    out = tmp_path / "report"
    args = ["eval", "--model", "embedded-base", "--formats", "json,native", "--max-tokens", "32", "--batch-size", "4", "--limit", "4", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    json_run, native = report["runs"]
    assert native["status"] == "failed" and "does not accept tools" in native["error"]
    s = json_run["summary"]
    assert (s["items"], s["steps"], s["hard_negatives"], s["e2e_items"]) == (4, 8, 1, 3)
    # The base model answers every step in plain text (json's final-answer form): always valid and
    # strict, never a call, so no name or argument matches, every no-call step is right, and none
    # of the three end-to-end answers (1093, 126, 4680) is reached.
    keys = ("format_validity", "strict_format", "tool_name_em", "args_em", "rouge_l", "no_call_accuracy", "e2e_success")
    assert {k: s[k] for k in keys} == {"format_validity": 1.0, "strict_format": 1.0, "tool_name_em": 0.0, "args_em": 0.0,
                                       "rouge_l": 0.0, "no_call_accuracy": 1.0, "e2e_success": 0.0}
    records = [json.loads(line) for line in (out / "runs" / "embedded-base__json.jsonl").read_text().splitlines()]
    assert [r["item_id"] for r in records] == ["calc-en-1", "neg-en-1", "calc-zh-1", "multi-zh-1"]
    assert [[st["called"] for st in r["steps"]] for r in records] == [[False, False], [False], [False, False], [False, False, False]]
    assert set(json_run["per_lang"]) == {"en", "zh"}
    assert {"calculator", "web_search", "(no call)"} <= set(json_run["per_tool"])
    assert "embedded-base · json" in result.output and "not evaluated" in result.output
    md = (out / "report.md").read_text()
    assert "## Per tool" in md and "embedded-base · native: not evaluated" in md
    # every item's result is on disk: a rerun resumes, generates nothing and reports the same
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert json.loads((out / "report.json").read_text())["runs"][0]["summary"] == s
