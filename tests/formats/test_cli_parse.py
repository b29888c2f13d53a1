"""`tooltune parse` with native family parsers: `--tool-parser NAME`, and `"tool_parser"` per
JSONL line beside format/text/tools."""

import json

from typer.testing import CliRunner

from tooltune.cli import app

from .cases import TOOLS
from .tool_parser_cases import CASES

runner = CliRunner()


def test_tool_parser_option_picks_the_family():
    family, _, text, expected = next(c for c in CASES if c[:2] == ("glm", "glm4_json"))
    lines = json.dumps({"format": "native", "text": text, "tools": TOOLS})
    assert json.loads(runner.invoke(app, ["parse", "--jsonl", "--format", "native", "--tool-parser", family], input=lines).output) == expected
    # without it, auto cannot tell GLM-4's untagged JSON from a hermes block
    assert json.loads(runner.invoke(app, ["parse", "--jsonl", "--format", "native"], input=lines).output)["kind"] == "invalid"


def test_jsonl_lines_carry_their_own_tool_parser():
    lines = [json.dumps({"format": "native", "tool_parser": fam, "text": text, "tools": TOOLS}) for fam, _, text, _ in CASES]
    lines.append(json.dumps({"format": "native", "tool_parser": "vicuna", "text": "x"}))
    lines.append(json.dumps({"format": "react", "tool_parser": "glm", "text": "x"}))
    result = runner.invoke(app, ["parse", "--jsonl"], input="\n".join(lines) + "\n")
    got = [json.loads(line) for line in result.output.splitlines()]
    assert got[:-2] == [expected for *_, expected in CASES]
    assert got[-2]["error"].startswith(f"line {len(CASES) + 1}: unknown tool parser 'vicuna'")
    assert got[-1]["error"] == f"line {len(CASES) + 2}: a tool parser ('glm') applies to --format native only, not 'react'"


def test_single_completion_with_tool_parser_and_a_bad_name():
    ok = runner.invoke(app, ["parse", "--format", "native", "--tool-parser", "kimi"],
                       input='<|tool_calls_section_begin|><|tool_call_begin|>functions.calculator:0<|tool_call_argument_begin|>{"expression": "1+1"}<|tool_call_end|><|tool_calls_section_end|>')
    assert json.loads(ok.output) == {"kind": "tool_calls", "calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]}
    bad = runner.invoke(app, ["parse", "--format", "native", "--tool-parser", "vicuna"], input="x")
    assert bad.exit_code != 0 and "unknown tool parser 'vicuna'" in str(bad.exception)


def test_jsonl_lines_naming_the_newest_families_parse_natively():
    """Issue 31: a line with "tool_parser": deepseek | gemma | kimi (and no format) is a native line."""
    from .tool_parser_cases import NEW_CASES

    cases = [c for c in NEW_CASES if c[0] in ("deepseek", "gemma", "kimi")]
    lines = [json.dumps({"tool_parser": fam, "text": text, "tools": TOOLS}) for fam, _, text, _ in cases]
    result = runner.invoke(app, ["parse", "--jsonl"], input="\n".join(lines) + "\n")
    assert [json.loads(line) for line in result.output.splitlines()] == [expected for *_, expected in cases]


def test_strict_tags_option():
    bare = json.dumps({"format": "json", "text": 'Use {"name": "calculator", "arguments": {"expression": "1"}}', "tools": TOOLS})
    lenient = json.loads(runner.invoke(app, ["parse", "--jsonl"], input=bare).output)
    strict = json.loads(runner.invoke(app, ["parse", "--jsonl", "--strict-tags"], input=bare).output)
    assert lenient["kind"] == "tool_calls"
    assert strict == {"kind": "final", "content": 'Use {"name": "calculator", "arguments": {"expression": "1"}}'}
    bad = runner.invoke(app, ["parse", "--strict-tags"], input="x")
    assert bad.exit_code != 0 and "--strict-tags applies to --format json or native" in str(bad.exception)
