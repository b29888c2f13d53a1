"""Teacher mode of the recipe's corpus stage, against a stand-in OpenAI-compatible server that
plays a strong teacher: it writes questions for the tools it is shown (the bank's own question
templates, so the arguments are valid), judges them, and answers them in the json format."""

from __future__ import annotations

import json
import random
import re

from tooltune.data.store import Store
from tooltune.errors import TooltuneError
from tooltune.data.synth.bank import load_bank, split_bank
from tooltune.data.synth.dialogues import request
from tooltune.recipe.smollm2_tools import run
from tooltune.recipe.state import RecipeConfig, config_json

from tests.data.standin import RespondingServer  # the data tests' stand-in server, reused

BANK = {t.name: t for t in load_bank()}
TRAIN, HELD = split_bank(load_bank(), 0.2)


class FakeTeacher:
    """Deterministic teacher. Of the positives it writes, the 2nd is judged 'no' (rejected) and the
    3rd is answered without calling the tool; every other question gets a proper answer."""

    def __init__(self) -> None:
        self.rng = random.Random(0)
        self.positives: list[str] = []
        self.negatives: list[str] = []
        self.calls: dict[str, tuple[str, dict]] = {}  # question -> (tool, arguments)

    def __call__(self, messages: list[dict]) -> str:
        last = messages[-1]["content"]
        if "question generator" in last or "问题生成器" in last:
            return self._questions(last)
        judged = re.search(r"^(?:Question: |问题：)(.*)$", last, re.M)
        if judged:
            q = judged.group(1).strip()
            needs = q in self.positives and q != self.positives[1]
            return ("Yes, it needs the tool." if needs else "No, it does not.") if q.isascii() else ("是，需要工具。" if needs else "否，不需要。")
        if "<tool_response>" in last:
            return "Done: here is the result." if last.isascii() else "好了，结果如上。"
        if last in self.negatives:
            return "Happy to chat!"
        if last == self.positives[2]:
            return "I would rather guess: about 42."
        name, args = self.calls[last]
        return f"<tool_call>\n{json.dumps({'name': name, 'arguments': args}, ensure_ascii=False)}\n</tool_call>"

    def _questions(self, prompt: str) -> str:
        zh = "问题生成器" in prompt
        count = int(re.search(r"(?:Write|请写出) (\d+)", prompt).group(1))
        tools = [BANK[n] for n in re.findall(r"^- (\w+):", prompt, re.M)]
        lines = []
        for k in range(count):
            if "NO tool" in prompt or "不需要使用任何工具" in prompt:
                q = f"{'随便聊聊' if zh else 'Just chatting'} {len(self.negatives) + 1}"
                self.negatives.append(q)
            else:
                q, call = request(tools[k % len(tools)], "zh" if zh else "en", self.rng)
                self.positives.append(q)
                self.calls[q] = (call.tool.name, call.args)
            lines.append(f"{k + 1}. {q}")
        return "\n".join(lines)


def test_teacher_corpus_from_the_train_side_only(tmp_path):
    teacher = FakeTeacher()
    server = RespondingServer(teacher)
    cfg = RecipeConfig(out=str(tmp_path), glaive=False, teacher_base_url=server.url, teacher_model="stand-in-teacher",
                       teacher_api_key="sk-secret-123", teacher_count=5)
    logs: list[str] = []
    try:
        info = run(cfg, ["corpus"], log=logs.append)["corpus"]
    finally:
        server.close()
    # 5 questions per language = 4 positives + 1 hard negative (the usual 1 in 5), en and zh.
    assert len(teacher.positives) == 8 and len(teacher.negatives) == 2
    assert info["teacher"]["questions"] == {"negative/approved": 2, "positive/approved": 7, "positive/rejected": 1}
    assert info["teacher"]["skipped"] == {"answered without the tool": 1}
    assert info["teacher"]["rows"] == 8 and info["teacher"]["hard_negative_rows"] == 2
    assert info["teacher"]["rows_by_lang"] == {"en": 3, "zh": 5}  # the rejected and the tool-less one were en
    assert info["synth_samples"] == 0 and "synth" not in info["sources"]  # the teacher replaces the synthesis
    port = server.url.split(":")[2].split("/")[0]
    assert info["sources"]["teacher"]["model"] == "stand-in-teacher"
    assert info["sources"]["teacher"]["base_url_host"] == f"127.0.0.1:{port}"

    rows = [json.loads(line) for line in (tmp_path / "corpus" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 8 and {r["source"] for r in rows} == {"teacher"}
    by_question = {r["messages"][0]["content"]: r for r in rows}
    expected = set(teacher.positives) - {teacher.positives[1], teacher.positives[2]} | set(teacher.negatives)
    assert set(by_question) == expected
    for q in teacher.negatives:
        assert by_question[q]["messages"][1:] == [{"role": "assistant", "content": "Happy to chat!"}]
        assert by_question[q]["kinds"] == ["negative"]
    for q in expected - set(teacher.negatives):
        row, (name, args) = by_question[q], teacher.calls[q]
        call = row["messages"][1]["tool_calls"][0]["function"]
        assert (call["name"], json.loads(call["arguments"])) == (name, args)
        assert row["messages"][2]["role"] == "tool" and row["messages"][3]["role"] == "assistant"
        assert row["lang"] == ("en" if q.isascii() else "zh") and row["kinds"] == ["positive"]
        assert name in {t["function"]["name"] for t in row["tools"]}

    # No held-out tool ever reached the teacher, nor the training corpus.
    held = {t.name for t in HELD}
    sent = json.dumps(server.bodies, ensure_ascii=False)
    assert not [n for n in held if re.search(rf"\b{n}\b", sent)]
    assert not held & set(json.loads((tmp_path / "corpus" / "train_tool_names.json").read_text()))
    assert {t["function"]["name"] for r in rows for t in r["tools"]} <= {t.name for t in TRAIN}

    # The API key is recorded nowhere; the adapter's record keeps the server's host only.
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert b"sk-secret-123" not in f.read_bytes(), f
    record = config_json(cfg)
    assert "teacher_api_key" not in record and record["teacher_base_url"] == f"127.0.0.1:{port}"
    assert any("rerun with --review" in line for line in logs)


def test_a_rerun_asks_the_teacher_only_for_what_is_missing(tmp_path):
    teacher = FakeTeacher()
    server = RespondingServer(teacher)
    cfg = RecipeConfig(out=str(tmp_path), glaive=False, teacher_base_url=server.url, teacher_count=3, mix_synth=True, n_synth=4)
    try:
        first = run(cfg, ["corpus"], log=lambda _: None)["corpus"]
        asked = len(server.bodies)
        (tmp_path / "corpus" / "done.json").unlink()
        second = run(cfg, ["corpus"], log=lambda _: None)["corpus"]
    finally:
        server.close()
    assert len(server.bodies) == asked  # everything was in teacher.db already
    assert first["teacher"] == second["teacher"]
    rows = [json.loads(line) for line in (tmp_path / "corpus" / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sum(r["source"] in ("synth", "synth-v3") for r in rows) == 4  # --mix-synth keeps the synthesis (v2 replay + v3)
    assert len(rows) == 4 + first["teacher"]["rows"]
    with Store(tmp_path / "corpus" / "teacher.db") as store:
        assert len(list(store.samples(source="rollout"))) == first["teacher"]["rows"] + sum(first["teacher"]["skipped"].values())


def test_teacher_options_are_checked_with_one_line_errors(tmp_path):
    from typer.testing import CliRunner

    from tooltune.cli import app

    cases = {("--model", "qwen"): "--model and --mix-synth are for a teacher: pass its server as --base-url too",
             ("--base-url", "localhost:8000"): "--base-url 'localhost:8000' is not an http(s) URL",
             ("--base-url", "http://x/v1", "--teacher-count", "0"): "--teacher-count must be at least 1"}
    for args, message in cases.items():
        result = CliRunner().invoke(app, ["recipe", "smollm2-tools", "--out", str(tmp_path), *args])
        # a TooltuneError: the CLI's entry point prints it as one `error: …` line, exit 2
        assert isinstance(result.exception, TooltuneError) and message in str(result.exception), (args, result.output)
    assert not list(tmp_path.iterdir())  # nothing started
