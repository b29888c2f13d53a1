"""Import/export: all 600 LLaMA-Factory glaive demos import; every format round-trips
(import -> export -> import gives the same canonical sample); bad records are reported by line."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tooltune.cli import app
from tooltune.data.augment import augment, with_tool_style
from tooltune.data.convert import READERS, WRITERS, detect_format, tools_from_system
from tooltune.data.io import export_file, import_file, load_samples
from tooltune.data.store import Store
from tooltune.errors import TooltuneError
from tooltune.messages import Message, Sample, ToolCall

FIXTURES = Path(__file__).parent / "fixtures"
GLAIVE = [FIXTURES / "glaive_toolcall_en_demo.json", FIXTURES / "glaive_toolcall_zh_demo.json"]
CALC = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic.",
                                          "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}
CLOCK = {"type": "function", "function": {"name": "current_time", "description": "Time now.", "parameters": {"type": "object", "properties": {}}}}


def canonical_samples():
    c1, c2, c3 = ToolCall("calculator", {"expression": "2+3"}, "call_1"), ToolCall("current_time", {}, "call_2"), ToolCall("calculator", {"expression": "5*4"}, "call_3")
    return [
        Sample([Message("system", "Be brief."), Message("user", "What is 2+3, and the time?"),
                Message("assistant", None, [c1, c2], reasoning_content="Two tools at once"),
                Message("tool", "5", tool_call_id="call_1", name="calculator"), Message("tool", "12:00", tool_call_id="call_2", name="current_time"),
                Message("assistant", None, [c3], reasoning_content="Now multiply"), Message("tool", "20", tool_call_id="call_3", name="calculator"),
                Message("assistant", "5, 20 and it is noon.", reasoning_content="Done"),
                Message("user", "谢谢！"), Message("assistant", "不客气。")], [CALC, CLOCK]),
        Sample([Message("user", "今天天气真好"), Message("assistant", "是啊，适合散步。")], [CALC]),
    ]


@pytest.mark.parametrize("path", GLAIVE, ids=["en", "zh"])
def test_all_llamafactory_glaive_demos_import_and_round_trip(path):
    loaded = list(load_samples(path, "auto", "fail"))
    assert len(loaded) == 300 and {name for *_, name in loaded} == {"sharegpt"}
    for _, sample, _ in loaded:
        assert all(t["type"] == "function" and t["function"]["name"] for t in sample.tools)
        again = READERS["sharegpt"](json.loads(json.dumps(WRITERS["sharegpt"](sample))))
        assert again == sample
        assert READERS["openai"](WRITERS["openai"](sample)) == sample
    raw = json.loads(path.read_text())
    assert sum(1 for _, s, _ in loaded if any(m.tool_calls for m in s.messages)) == sum(
        1 for r in raw if any(t["from"] == "function_call" for t in r["conversations"]))
    assert sum(1 for _, s, _ in loaded if s.tools) == sum(1 for r in raw if json.loads(r["tools"] or "[]"))


def _expected_after(fmt: str, original: Sample) -> Sample:
    """What a format can carry. ShareGPT (glaive/LLaMA-Factory turns) has no field for an
    assistant's reasoning; everything else must come back exactly."""
    if fmt != "sharegpt":
        return original
    messages = [replace(m, reasoning_content=None) for m in original.messages]
    return Sample(messages, original.tools)


@pytest.mark.parametrize("fmt", ["openai", "sharegpt", "react", "agentfabric", "alpaca"])
def test_every_format_round_trips(fmt):
    for original in canonical_samples() + [s for _, s, _ in list(load_samples(GLAIVE[1]))[:40]]:
        first = READERS[fmt](json.loads(json.dumps(WRITERS[fmt](original))))
        assert first == _expected_after(fmt, original)  # compared with the original, not with itself
        again = READERS[fmt](json.loads(json.dumps(WRITERS[fmt](first))))
        assert again == first
        if original.tools:  # without tools a ReAct conversation is plain ShareGPT
            assert detect_format(WRITERS[fmt](original)) in (fmt, "ms_agent" if fmt == "react" else fmt)


@pytest.mark.parametrize("fmt", ["react", "agentfabric", "alpaca"])
def test_react_text_formats_keep_steps_thoughts_and_tools(fmt):
    original = canonical_samples()[0]
    back = READERS[fmt](WRITERS[fmt](original))
    assert back.tools == original.tools
    assert [(m.role, m.content, [(c.name, c.arguments, c.id) for c in m.tool_calls], m.tool_call_id) for m in back.messages] == \
           [(m.role, m.content, [(c.name, c.arguments, c.id) for c in m.tool_calls], m.tool_call_id) for m in original.messages]
    assert [m.reasoning_content for m in back.messages] == [m.reasoning_content for m in original.messages]


def test_ms_agent_style_tool_lists_and_agentfabric_prompts_are_read():
    system = ('You are helpful.\n\nAnswer the following questions as best you can. You have access to the following APIs:\n'
              '1. fire_recognition: Call this tool to interact with the fire recognition API. This API detects fire. '
              'Parameters: [{"name": "image", "description": "the image", "required": "True"}]\n\nUse the following format: ...')
    user_system, tools = tools_from_system(system)
    assert user_system == "You are helpful."
    assert tools[0]["function"]["parameters"] == {"type": "object", "properties": {"image": {"type": "string", "description": "the image"}}, "required": ["image"]}
    record = {"conversations": [{"from": "system", "value": system}, {"from": "user", "value": "Fire?"},
                                {"from": "assistant", "value": 'Action: fire_recognition\nAction Input: {"image": "a.jpg"}\nObservation: <result>no fire</result>\nAnswer: No fire.'}]}
    sample = READERS[detect_format(record)](record)
    assert [m.role for m in sample.messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert sample.messages[3].content == "no fire" and sample.messages[-1].content == "No fire."


def test_bad_records_are_reported_with_line_numbers(tmp_path):
    path = tmp_path / "in.jsonl"
    good = json.dumps(canonical_samples()[1].to_openai(), ensure_ascii=False)
    path.write_text("\n".join([good, "{not json", json.dumps({"foo": 1}), json.dumps({"messages": [{"content": "x"}]}), good]) + "\n")
    store = Store(tmp_path / "c.db")
    report = import_file(store, path)
    assert report.added == 2 and len(report.errors) == 3
    assert [e.split(": ", 1)[0] for e in report.errors] == [f"{path}:{n}" for n in (2, 3, 4)]
    assert import_file(store, path).already_stored == 2  # re-importing adds nothing
    with pytest.raises(TooltuneError, match=r"in.jsonl:2: .*--on-error skip"):
        import_file(store, path, on_error="fail")
    assert len(list(store.samples())) == 2


def test_cli_import_export_round_trip(tmp_path):
    runner, db = CliRunner(), str(tmp_path / "corpus.db")
    result = runner.invoke(app, ["import", str(GLAIVE[0]), "--db", db, "--status", "approved"])
    assert result.exit_code == 0 and "imported 300 samples" in result.output, result.output
    assert "0 samples" in runner.invoke(app, ["import", str(GLAIVE[0]), "--db", db]).output  # resumable
    for fmt in ("openai", "sharegpt", "react", "agentfabric", "alpaca"):
        out = tmp_path / f"{fmt}.jsonl"
        result = runner.invoke(app, ["export", "--db", db, "--format", fmt, "--out", str(out)])
        assert result.exit_code == 0 and len(out.read_text().splitlines()) == 300, result.output
    store2 = Store(tmp_path / "again.db")
    import_file(store2, tmp_path / "sharegpt.jsonl")
    assert [s.sample for s in store2.samples()] == [s.sample for s in Store(db).samples()]
    assert export_file(store2, tmp_path / "none.jsonl", "openai", ("approved",)) == 0


def test_tool_description_styles():
    sample = canonical_samples()[0]
    variants = augment(sample)
    assert len(variants) == 3 and all(v.messages[1:] == sample.messages[1:] and v.tools == sample.tools for v in variants)
    qwen, oai, autogpt = (v.messages[0].content for v in variants)
    assert qwen.startswith("Be brief.") and "<tools>" in qwen and '"name": "calculator"' in qwen
    assert json.loads(oai.split("\n", 3)[3])[0]["name"] == "calculator"
    assert '1. Evaluate arithmetic.: "calculator", args: "expression": "<expression>"' in autogpt
    assert "函数" in with_tool_style(sample, "openai", "zh").messages[0].content
    with pytest.raises(TooltuneError):
        with_tool_style(sample, "yaml")
