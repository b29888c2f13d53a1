"""`tooltune specialize`: bad input is one line and leaves no folder; a whole run on a tiny model
writes the adapter, the held-out scores before and after, the report and its chart, and a rerun
resumes instead of starting over."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tooltune.recipe.specialize import Run, SpecializeConfig

TOOLS_PY = '''
from tooltune import tool

@tool
def room_status(room: str) -> str:
    """Shows whether a meeting room is free.

    Args:
        room: The room's name.
    """
    return f"{room} is free"

@tool
def book_room(room: str, hours: int = 1) -> str:
    """Books a meeting room.

    Args:
        room: The room's name.
        hours: How long, in hours.
    """
    return f"booked {room} for {hours} h"
'''


def tooltune(*args):
    return subprocess.run([sys.executable, "-c", "from tooltune.cli import main; main()", *args], capture_output=True, text=True, timeout=120)


def _spec(name, description="Does a thing."):
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {"type": "object", "properties": {}}}}


@pytest.mark.parametrize("name, text, message", [
    ("broken.py", "def f(:\n", "line 1: invalid syntax"),
    ("dupes.json", json.dumps([_spec("a"), _spec("a")]), "tool 'a' is defined twice"),
    ("nodesc.json", json.dumps([_spec("a", "")]), "tool 'a' has no description"),
    ("many.json", json.dumps([_spec(f"t{i}") for i in range(500)]), "500 tools is too many for one prompt"),
    ("schema.json", json.dumps([{"type": "function", "function": {"name": "a", "description": "x", "parameters": {"type": "object", "required": 3}}}]),
     "tool 'a': invalid JSON Schema"),
])
def test_bad_tools_are_one_line_and_leave_no_folder(tmp_path, name, text, message):
    src = tmp_path / name
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = tooltune("specialize", "--tools", str(src), "--out", str(out))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not out.exists()


def test_an_mcp_server_that_will_not_start_is_one_line(tmp_path):
    out = tmp_path / "out"
    result = tooltune("specialize", "--tools", "mcp:stdio:tooltune-no-such-server --x", "--out", str(out))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "tooltune-no-such-server" in result.stderr
    assert not out.exists()


def test_a_whole_run_on_a_tiny_model_and_its_resume(tmp_path, tiny_model, smol_tokenizer):
    base = tmp_path / "base"
    tiny_model.save_pretrained(base)
    smol_tokenizer.save_pretrained(base)
    tools = tmp_path / "rooms.py"
    tools.write_text(TOOLS_PY, encoding="utf-8")
    out = tmp_path / "out"
    cfg = SpecializeConfig([str(tools)], str(out), model=str(base), init_adapter="none", minutes=2, samples=40, held_out=10)
    lines: list[str] = []
    summary = Run(cfg, log=lines.append).run()
    assert (out / "adapter" / "adapter_config.json").exists() and (out / "adapter" / "adapter_model.safetensors").exists()
    assert not (out / "adapter" / "checkpoints").exists()
    state = json.loads((out / "state.json").read_text(encoding="utf-8"))
    assert state["done"] and state["corpus"]["train"] == 40 and state["corpus"]["held_out"] == 10
    assert state["train"]["steps"] >= 1
    assert set(summary) == {"before", "after", "minutes"} and summary["after"]["items"] == 10
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| tool + exact arguments |" in report and "| no call where none is due |" in report
    assert (out / "specialize.png").read_bytes()[:4] == b"\x89PNG"
    assert any(line.startswith("corpus: 40 training and 10 held-out samples") for line in lines)
    # A rerun resumes: the corpus is not made again, training is not repeated, the scores stand.
    before = (out / "corpus" / "train.jsonl").stat().st_mtime_ns
    lines.clear()
    again = Run(cfg, log=lines.append).run()
    assert (out / "corpus" / "train.jsonl").stat().st_mtime_ns == before
    assert not any(line.startswith(("corpus:", "training:")) for line in lines)
    assert again["after"] == summary["after"]


def test_another_tool_set_in_the_same_folder_is_refused(tmp_path, tiny_model, smol_tokenizer):
    base = tmp_path / "base"
    tiny_model.save_pretrained(base)
    smol_tokenizer.save_pretrained(base)
    out = tmp_path / "out"
    out.mkdir()
    (out / "state.json").write_text(json.dumps({"tools": "someone-else"}), encoding="utf-8")
    with pytest.raises(Exception, match="holds a specialisation for other tools"):
        Run(SpecializeConfig(["calculator"], str(out), model=str(base), init_adapter="none"))
