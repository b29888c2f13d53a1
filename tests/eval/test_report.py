"""Reports: several formats with a real (tiny, random) model through batched generation, an
unsupported format reported instead of crashing, base vs tuned side by side, and the CLI."""

import json

import pytest
from typer.testing import CliRunner

from tooltune.cli import app
from tooltune.errors import TooltuneError
from tooltune.eval.evaluate import ModelSpec, run_eval
from tooltune.eval.items import load_items, smoke_eval_path
from tooltune.eval.runner import EvalSettings
from tooltune.llm import ScriptedLLM
from tooltune.llm.transformers_backend import TransformersLLM

from .helpers import gold_llm


@pytest.fixture(scope="module")
def items():
    return load_items(smoke_eval_path())


def test_formats_with_a_tiny_model_and_unsupported_native(items, tiny_model, smol_tokenizer, tmp_path):
    subset = [next(i for i in items if i.id == x) for x in ("calc-en-1", "multi-en-1", "neg-en-1")]
    spec = ModelSpec("tiny", lambda: TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer))
    settings = EvalSettings(max_tokens=6)
    report = run_eval(subset, [spec], ["react", "json", "native"], settings, tmp_path, "smoke", batch_size=4, progress=False)
    runs = {r["format"]: r for r in report["runs"]}
    assert runs["native"]["status"] == "failed" and "does not accept tools" in runs["native"]["error"]
    # Six random tokens are never a call: every step parses as a final answer (valid), so no tool
    # name or argument matches and every no-call step is right; only json takes bare text as its
    # strict final-answer form (react's strict form needs "Final Answer:").
    keys = ("format_validity", "strict_format", "tool_name_em", "args_em", "rouge_l", "no_call_accuracy")
    for fmt, strict in (("react", 0.0), ("json", 1.0)):
        s = runs[fmt]["summary"]
        assert runs[fmt]["status"] == "ok" and s["items"] == 3 and s["steps"] == 2 + 3 + 1
        assert {k: s[k] for k in keys} == {"format_validity": 1.0, "strict_format": strict, "tool_name_em": 0.0, "args_em": 0.0,
                                           "rouge_l": 0.0, "no_call_accuracy": 1.0}
    assert set(report["robustness"]["tiny"]["args_em"]) == {"min", "max", "spread"}
    md = (tmp_path / "report.md").read_text()
    assert "tiny · native: not evaluated" in md and "Format robustness: tiny" in md and "| tool |" in md
    assert json.loads((tmp_path / "report.json").read_text())["runs"][0]["format"] == "react"
    for chart in ("comparison.png", "per_tool.png"):
        assert (tmp_path / chart).read_bytes()[:4] == b"\x89PNG"
    # greedy and resumable: a rerun generates nothing new and reports the same numbers
    again = run_eval(subset, [ModelSpec("tiny", lambda: pytest.fail("a resumed run must not reload the model"))],
                     ["react", "json"], settings, tmp_path, "smoke", batch_size=4, progress=False)
    assert [r["summary"] for r in again["runs"]] == [runs["react"]["summary"], runs["json"]["summary"]]


def test_compare_base_and_tuned_side_by_side(items, tmp_path):
    base = ModelSpec("base", lambda: ScriptedLLM(["I think it is 1000."] * 40))
    tuned = ModelSpec("tuned", lambda: gold_llm("json", items))
    scored = [(i, s) for i, s in zip(items, [5, 4, 2, 0] + [None] * 8)]
    for item, score in scored:
        item.human_score = score
    try:
        report = run_eval(items, [base, tuned], ["json"], EvalSettings(), tmp_path, "smoke", batch_size=1, progress=False)
    finally:
        for item, _ in scored:
            item.human_score = None
    base_s, tuned_s = (r["summary"] for r in report["runs"])
    assert tuned_s["args_em"] == 1.0 and base_s["args_em"] == 0.0
    assert base_s["no_call_accuracy"] == 1.0 and base_s["call_recall"] == 0.0
    assert report["human_rubric"]["scored"] == 4 and report["human_rubric"]["usable_rate"] == 0.5
    md = (tmp_path / "report.md").read_text()
    assert "| metric | base · json | tuned · json |" in md and "Human rubric" in md


def test_changed_settings_do_not_mix_with_old_results(items, tmp_path):
    spec = ModelSpec("m", lambda: gold_llm("json", items[:1]))
    run_eval(items[:1], [spec], ["json"], EvalSettings(max_tokens=64), tmp_path, "smoke", progress=False)
    with pytest.raises(TooltuneError, match="max_tokens.*--restart"):
        run_eval(items[:1], [spec], ["json"], EvalSettings(max_tokens=32), tmp_path, "smoke", progress=False)
    report = run_eval(items[:1], [ModelSpec("m", lambda: gold_llm("json", items[:1]))], ["json"], EvalSettings(max_tokens=32),
                      tmp_path, "smoke", restart=True, progress=False)
    assert report["runs"][0]["summary"]["args_em"] == 1.0


@pytest.mark.parametrize("args, needle", [
    (["eval", "--formats", "react,yaml"], "unknown format 'yaml'"),
    (["eval", "--format", "react", "--formats", "json"], "either --format or --formats"),
    (["eval", "--compare", "onlyone"], "--compare takes two models"),
    (["eval", "--data", "nope.jsonl"], "no such file"),
    (["eval", "--model", "/no/such/model", "--out", "{tmp}"], "not found"),
])
def test_cli_user_mistakes(args, needle, tmp_path):
    result = CliRunner().invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert isinstance(result.exception, TooltuneError) and needle in str(result.exception)


def test_backend_errors_are_counted_never_scored_and_retried_on_rerun(items, tmp_path):
    """Items whose requests the server keeps breaking are reported as backend errors: not
    scored as (empty) completions, not written to the results, and evaluated on a rerun."""
    from tooltune.llm.openai_backend import OpenAILLM

    from ..llm.test_openai_backend import StandInServer

    subset = [next(i for i in items if i.id == x) for x in ("calc-en-1", "multi-en-1", "neg-en-1")]
    victim = next(m.text for m in subset[1].messages if m.role == "user")
    server = StandInServer(echo=True, break_if=lambda body: "503" if victim in json.dumps(body, ensure_ascii=False) else None)
    spec = ModelSpec("srv", lambda: OpenAILLM(server.url, model="m", retries=1, backoff=0))
    try:
        report = run_eval(subset, [spec], ["json"], EvalSettings(), tmp_path, "smoke", batch_size=4, progress=False)
        run = report["runs"][0]
        assert run["status"] == "ok" and run["backend_errors"] == 1
        assert list(run["backend_error_items"]) == ["multi-en-1"]
        assert "HTTP 503: the server is busy" in run["backend_error_items"]["multi-en-1"]
        assert run["summary"]["items"] == 2 and run["summary"]["steps"] == 2 + 1
        results = (tmp_path / "runs" / "srv__json.jsonl").read_text().splitlines()
        assert [json.loads(line)["item_id"] for line in results] == ["calc-en-1", "neg-en-1"]
        assert "srv · json: 1 items hit backend errors" in (tmp_path / "report.md").read_text()

        server.break_if, before = None, len(server.bodies)
        again = run_eval(subset, [spec], ["json"], EvalSettings(), tmp_path, "smoke", batch_size=4, progress=False)
        assert again["runs"][0]["backend_errors"] == 0 and again["runs"][0]["summary"]["items"] == 3
        asked = [b for b in server.bodies[before:]]
        assert asked and all(victim in json.dumps(b, ensure_ascii=False) for b in asked)  # only the failed item was redone
    finally:
        server.close()


def test_eval_cli_against_a_one_request_at_a_time_server_matches_batch_size_1(items, tmp_path):
    """The issue's llama.cpp case: 4 concurrent requests to a server that serves one at a time.
    Broken streams are retried with less concurrency; the scores equal a --batch-size 1 run."""
    from ..llm.test_openai_backend import StandInServer

    server = StandInServer(echo=True, one_at_a_time=True, delay=0.01)
    try:
        summaries = {}
        for batch in ("4", "1"):
            out = tmp_path / f"b{batch}"
            result = CliRunner().invoke(app, ["eval", "--base-url", server.url, "--model", "m", "--formats", "react,json",
                                              "--limit", "4", "--batch-size", batch, "--out", str(out)])
            assert result.exit_code == 0, result.output
            report = json.loads((out / "report.json").read_text())
            assert [r["backend_errors"] for r in report["runs"]] == [0, 0]
            summaries[batch] = [r["summary"] for r in report["runs"]]
        assert server.broken > 0  # the concurrent run did hit broken streams
        assert summaries["4"] == summaries["1"]
    finally:
        server.close()
