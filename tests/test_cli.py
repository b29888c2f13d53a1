"""The `tooltune` command: parse over JSONL, tool listing, one-line errors for user mistakes."""

import json
import subprocess
import sys

from typer.testing import CliRunner

from tooltune.cli import app
from tooltune.errors import TooltuneError

from .formats.cases import CASES, INVALID, TOOLS

runner = CliRunner()


def tooltune(*args, stdin=""):
    """Run the real console entry point in a subprocess (exit codes and stderr as a user sees them)."""
    return subprocess.run([sys.executable, "-c", "from tooltune.cli import main; main()", *args],
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_parse_jsonl_handles_every_tolerance():
    lines = [json.dumps({"format": fmt, "text": text, "tools": TOOLS}) for _, fmt, text, _ in CASES]
    result = runner.invoke(app, ["parse", "--jsonl"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in result.output.splitlines()]
    for g in got:
        g.pop("reasoning", None)  # pinned by tests/formats/test_reasoning.py
    assert got == [expected for *_, expected in CASES]


def test_parse_jsonl_reports_invalid_and_bad_lines_in_place():
    lines = [json.dumps({"format": fmt, "text": text, "tools": TOOLS}) for _, fmt, text, _ in INVALID]
    lines += ["not json", json.dumps({"format": "yaml", "text": "x"}), json.dumps({"format": "react"})]
    result = runner.invoke(app, ["parse", "--jsonl"], input="\n".join(lines))
    got = [json.loads(line) for line in result.output.splitlines()]
    assert len(got) == len(lines) and all(g["kind"] == "invalid" for g in got)
    assert "line 7" in got[-3]["error"] and "unknown format 'yaml'" in got[-2]["error"] and "line 9" in got[-1]["error"]


def test_parse_single_completion_from_stdin():
    result = runner.invoke(app, ["parse", "--format", "react"], input='Action： Calculator\nAction Input: {"expression": "1+1"}')
    assert json.loads(result.output) == {"kind": "tool_calls", "calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]}


def test_tools_lists_builtin_schemas():
    specs = json.loads(runner.invoke(app, ["tools", "--json"]).output)
    assert [s["function"]["name"] for s in specs] == ["calculator", "current_time", "web_search"]


def test_user_mistakes_are_one_line_errors_without_traceback():
    for args, needle in [
        (["run", "hi", "--format", "yaml"], "unknown format 'yaml'"),
        (["run", "hi", "--tools", "calculator,teleport"], "teleport is not a built-in tool (calculator, current_time, web_search)"),
        (["run", "hi", "--model", "/nonexistent/model"], "model /nonexistent/model not found"),
        (["run", "hi", "--max-steps", "0"], "--max-steps must be at least 1"),
        (["bench", "chat", "--backend", "vllm"], "unknown backend 'vllm'"),
        (["bench", "bfcl", "--backend", "vllm"], "unknown backend 'vllm'"),
        (["export", "--db", "/nonexistent/corpus.db", "--format", "openai", "--out", "/tmp/x.jsonl"], "no such corpus"),
        (["judge", "--db", "/nonexistent/corpus.db"], "no such corpus"),
        (["rollout", "--db", "/nonexistent/corpus.db"], "no such corpus"),
    ]:
        proc = tooltune(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert needle in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_run_against_a_server_streams_steps_and_prints_the_trajectory(tmp_path):
    from .llm.test_openai_backend import StandInServer, text_reply

    server = StandInServer()
    try:
        server.replies += [text_reply('Thought: search [docs]|\nAction: web_search\nAction Input: {"query": "Everest height"}'),
                           text_reply("Thought: found it\nFinal Answer: 8,849 m [source: docs]")]
        saved = tmp_path / "traj.json"
        result = runner.invoke(app, ["run", "How high is Everest?", "--base-url", server.url, "--model", "m",
                                     "--tools", "web_search", "--json", "--save", str(saved)])
        assert result.exit_code == 0, result.output
        traj = json.loads(result.stdout[result.stdout.index("{"):])
        assert traj["status"] == "final" and traj["messages"][-1]["content"] == "8,849 m [source: docs]"
        assert "8,849 metres" in traj["messages"][2]["content"]  # the real local search ran
        assert json.loads(saved.read_text())["messages"] == traj["messages"]
    finally:
        server.close()


def test_usage_errors_are_one_error_line_plus_the_usage_hint():
    """Missing argument, unknown option, wrong type, missing value: exit 2, no traceback."""
    for args, needle, usage in [
        (["run"], "Missing argument", "Usage: tooltune run"),
        (["eval", "--bogus"], "No such option: --bogus", "Usage: tooltune eval"),
        (["train", "--max-length", "abc"], "Invalid value for '--max-length'", "Usage: tooltune train"),
        (["export", "--format"], "Option '--format' requires an argument", "Usage: tooltune export"),
        (["teleport"], "No such command 'teleport'", "Usage: tooltune"),
    ]:
        proc = tooltune(*args)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert lines[0].startswith("error: ") and needle in lines[0], (args, lines)
        assert lines[1].startswith(usage) and lines[2].startswith("Try 'tooltune"), (args, lines)
        assert len(lines) == 3, (args, lines)


def test_version_prints_the_package_version():
    from tooltune import __version__

    proc = tooltune("--version")
    assert (proc.returncode, proc.stdout.strip()) == (0, f"tooltune {__version__}")


def _corpus_option_names(command) -> list[tuple[str, ...]]:
    return [tuple(p.opts) for p in command.params if {"--data", "--db"} & set(p.opts)]


def test_every_corpus_option_takes_both_data_and_db():
    import typer.main

    group = typer.main.get_command(app)
    seen = {}
    for name, command in group.commands.items():
        for opts in _corpus_option_names(command):
            seen[name] = opts
    assert {"train", "sweep", "inspect-sample", "eval", "generate", "judge", "rollout", "import", "export", "corpus-stats"} <= set(seen)
    assert set(seen.values()) == {("--data", "--db")}, seen


def test_both_corpus_flags_reach_the_command():
    for flag in ("--data", "--db"):
        proc = tooltune("export", flag, "/nonexistent/corpus.db", "--out", "/tmp/x.jsonl")
        assert proc.returncode == 2 and "/nonexistent/corpus.db: no such corpus" in proc.stderr, (flag, proc.stderr)
        proc = tooltune("train", flag, "/nonexistent/train.db")
        assert proc.returncode == 2 and "training data /nonexistent/train.db not found" in proc.stderr, (flag, proc.stderr)


def test_train_checks_its_arguments_before_loading_a_model(monkeypatch, tmp_path):
    import tooltune.train.trainer as trainer

    def no_model(*_a, **_k):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(trainer, "load_training_model", no_model)
    demo = ["--data", "demo", "--out", str(tmp_path)]
    for args, needle in [
        (["--data", str(tmp_path / "missing.db"), "--out", str(tmp_path)], "missing.db not found"),
        ([*demo, "--format", "yaml"], "unknown format 'yaml'"),
        ([*demo, "--loss-scale", "loud"], "unknown loss scale 'loud'"),
        ([*demo, "--eval-split", "1.5"], "--eval-split must be in [0, 1)"),
        ([*demo, "--lang", "fr"], "--lang"),
        ([*demo, "--max-length", "16"], "no sample fits --max-length 16"),  # the corpus is built before the weights load
    ]:
        result = runner.invoke(app, ["train", *args])
        assert isinstance(result.exception, TooltuneError), (args, result.exception)
        assert needle in str(result.exception), (args, str(result.exception))
