"""The exported vLLM plugin on its own: run in a bare interpreter (`python -S -I`, so sys.path
holds the standard library and nothing else: no tooltune, none of its dependencies) against
stand-in vLLM classes, it reads every case as tooltune's own json parser does, whole and streamed.
Without json_repair the one repair that needs it is skipped (the output is then what tooltune's
parser gives without it); with json_repair beside it, everything matches."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.formats.cases import CASES, INVALID, TOOLS
from tooltune.export.vllm_plugin import plugin_text, vendored_sources
from tooltune.formats import get_format, parsing
from tooltune.formats.json_layout import CALL_OPEN_PATTERN

from .vllm_standin import LAYOUTS, write_standin

DRIVER = Path(__file__).with_name("plugin_driver.py")
EXTRA = [
    ("thought_then_parallel", 'I will look both up.\n<tool_call>\n{"name": "web_search", "arguments": {"query": "Paris"}}\n</tool_call>\n'
     '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2*3"}}\n</tool_call>'),
    ("tag_inside_argument", '<tool_call>\n{"name": "web_search", "arguments": {"query": "what does </tool_call> mean"}}\n</tool_call>'),
    ("near_miss_name", '<tool_call>\n{"name": "calculater", "arguments": {"expression": "5"}}\n</tool_call>'),
    ("reasoning_block", '<think>Needs math.</think>\n<tool_call>\n{"name": "calculator", "arguments": {"expression": "1"}}\n</tool_call>'),
    ("list_in_one_block", '<tool_call>\n[{"name": "calculator", "arguments": {"expression": "1"}}, '
     '{"name": "calculator", "arguments": {"expression": "2"}}]\n</tool_call>'),
    ("chinese_answer", "北京是中国的首都。"),
]
TEXTS = {name: text for name, fmt, text, _ in CASES + INVALID if fmt == "json"} | dict(EXTRA)
NEEDS_JSON_REPAIR = "json_missing_brace_closed"
STEPS = (3, 10_000)  # a few characters per delta, and the whole text in one (content and calls together)


CASE_IDS = [(name, step) for name in TEXTS for step in STEPS]


def expected(text):
    """What tooltune's own parser reads: the whole output as vLLM's ExtractedToolCallInformation
    carries it, and the stream: the text before the first call tag as content, then the calls
    (a stream reads tagged calls only, so an untagged call stays content)."""
    parsed = get_format("json").parse(text, TOOLS)
    called = parsed.kind == "tool_calls"
    calls = [[c.name, c.arguments] for c in parsed.calls] if called else []
    whole = {"tools_called": called, "content": (parsed.reasoning or parsed.thought or None) if called else text, "calls": calls}
    tag = re.search(CALL_OPEN_PATTERN, text)
    stream = {"content": text[:tag.start()] if tag else text, "calls": calls if tag else [],
              "indexes": list(range(len(calls))) if tag else [], "ids": True}
    return {"whole": whole, "stream": stream}


def run_bare(tmp_path, layout, extra_paths=()):
    plugin = tmp_path / "tooltune_tool_parser.py"
    plugin.write_text(plugin_text(), encoding="utf-8")
    standin = write_standin(tmp_path / f"vllm-{layout}", layout)
    cases = [{"text": text, "tools": TOOLS, "step": step} for text in TEXTS.values() for step in STEPS]
    r = subprocess.run([sys.executable, "-S", "-I", str(DRIVER), str(standin), str(plugin), *map(str, extra_paths)],
                       input=json.dumps(cases), capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture
def without_optional_libraries(monkeypatch):
    """tooltune's parser as it runs where json_repair and rapidfuzz are missing."""
    monkeypatch.setattr(parsing, "json_repair", None)
    monkeypatch.setattr(parsing, "ratio", None)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_plugin_reads_like_tooltune_with_the_standard_library_only(tmp_path, layout, without_optional_libraries):
    got = run_bare(tmp_path, layout)
    assert got["importable"] == {"tooltune": False, "json_repair": False, "rapidfuzz": False, "jsonschema": False}
    for (name, step), result in zip(CASE_IDS, got["results"]):
        assert result == expected(TEXTS[name]), (name, step)


def test_plugin_uses_json_repair_when_vllms_environment_has_it(tmp_path):
    import json_repair

    beside = tmp_path / "beside"
    shutil.copytree(Path(json_repair.__file__).parent, beside / "json_repair")
    got = run_bare(tmp_path, "0.32", [beside])
    assert got["importable"]["json_repair"] and not got["importable"]["tooltune"]
    for (name, step), result in zip(CASE_IDS, got["results"]):
        assert result == expected(TEXTS[name]), (name, step)
    repaired = got["results"][CASE_IDS.index((NEEDS_JSON_REPAIR, 3))]
    assert repaired["whole"]["calls"] == [["web_search", {"query": "Everest"}]]


def test_without_json_repair_only_that_repair_is_lost(without_optional_libraries):
    """The degraded reading differs from the full one in the json_repair case alone (the fuzzy
    tool-name match reads the same without rapidfuzz)."""
    degraded = {name: expected(text) for name, text in TEXTS.items()}
    parsing.json_repair = __import__("json_repair")
    parsing.ratio = __import__("rapidfuzz.fuzz").fuzz.ratio
    full = {name: expected(text) for name, text in TEXTS.items()}
    assert [name for name in TEXTS if degraded[name] != full[name]] == [NEEDS_JSON_REPAIR]


def test_plugin_carries_only_the_parser_modules():
    assert list(vendored_sources()) == [
        "tooltune.errors", "tooltune.formats.base", "tooltune.formats.json_layout", "tooltune.formats.json_parse",
        "tooltune.formats.parsing", "tooltune.formats.reasoning", "tooltune.formats.scan", "tooltune.messages",
        "tooltune.toolspec",
    ]


def test_a_missing_vllm_class_is_one_line_on_stderr(tmp_path):
    plugin = tmp_path / "tooltune_tool_parser.py"
    plugin.write_text(plugin_text(), encoding="utf-8")
    r = subprocess.run([sys.executable, "-S", "-I", str(plugin)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first.startswith("tooltune_tool_parser: vLLM's ToolParser is in none of vllm.tool_parsers.abstract_tool_parser, ")
    assert first.endswith("(vLLM: none importable); run vLLM with this plugin from vLLM's own Python, a release from 0.9 to 0.32")


def test_the_build_refuses_what_could_not_run_without_tooltune():
    from tooltune.errors import TooltuneError
    from tooltune.export.vllm_plugin import _tooltune_imports

    assert _tooltune_imports("try:\n    import json_repair\nexcept ImportError:\n    json_repair = None\n", "m") == []
    assert _tooltune_imports("from tooltune.formats import json_layout, scan\n", "m") == [
        "tooltune.formats.json_layout", "tooltune.formats.scan"]
    for source, message in [("import json_repair\n", "m: imports json_repair outside the standard library without a fallback"),
                            ("from rapidfuzz import fuzz\n", "m: imports rapidfuzz outside the standard library without a fallback"),
                            ("import tooltune.toolspec\n", "m: `import tooltune.toolspec` cannot be carried"),
                            ("from tooltune.formats import get_format\n", "m: `from tooltune.formats import get_format` names no module")]:
        with pytest.raises(TooltuneError) as err:
            _tooltune_imports(source, "m")
        assert str(err.value).startswith(message)
