"""The store: revisions and optimistic locking, validation, concurrent writers, and durability
when a writer process is killed with SIGKILL mid-batch."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tooltune.data.store import StaleRevisionError, Store
from tooltune.errors import TooltuneError
from tooltune.messages import Message, Sample, ToolCall


def sample(text="hi"):
    call = ToolCall("calculator", {"expression": "1+1"}, "call_1")
    return Sample([Message("user", text), Message("assistant", None, [call]), Message("tool", "2", tool_call_id="call_1", name="calculator"),
                   Message("assistant", "2")], [{"type": "function", "function": {"name": "calculator", "description": "", "parameters": {}}}])


def test_add_read_update_keeps_every_revision(tmp_path):
    store = Store(tmp_path / "corpus.db")
    sid = store.add_sample(sample(), source="rollout", expect_tool_call=True, lang="en", meta={"k": 1})
    got = store.get_sample(sid)
    assert got.sample == sample() and got.revision == 1 and got.status == "draft" and got.expect_tool_call is True
    assert got.meta == {"k": 1} and got.source == "rollout" and got.human_score is None
    assert store.update_sample(sid, sample("edited"), expected_revision=1) == 2
    with pytest.raises(StaleRevisionError, match="revision 2, not 1"):
        store.update_sample(sid, sample("lost edit"), expected_revision=1)
    assert store.get_sample(sid).sample.messages[0].content == "edited"
    assert [(r.revision, r.sample.messages[0].content, r.author) for r in store.revisions(sid)] == [(1, "hi", "rollout"), (2, "edited", "human")]


def test_every_change_is_a_revision_with_who_and_what(tmp_path):
    store = Store(tmp_path / "c.db")
    sid = store.add_sample(sample(), source="rollout")
    assert store.set_status(sid, "approved", author="ann") == 2
    assert store.set_human_score(sid, 4, "right answer", author="bob") == 3
    assert store.set_sample_judgement(sid, "yes", "needs the calculator") == 4
    assert store.set_meta(sid, {"note": 1}, author="ann") == 5
    assert store.update_sample(sid, sample("edited"), author="ann", status="rejected", expected_revision=5) == 6
    assert store.set_status(sid, "rejected", author="ann") == 6  # changes nothing: no new revision
    history = store.revisions(sid)
    assert [(r.revision, r.author, r.changes) for r in history] == [
        (1, "rollout", ["created"]), (2, "ann", ["status"]), (3, "bob", ["human_score", "human_comment"]),
        (4, "judge", ["judge_verdict", "judge_reason"]), (5, "ann", ["meta"]), (6, "ann", ["messages", "status"])]
    assert [(r.status, r.human_score, r.human_comment) for r in history[:4]] == [
        ("draft", None, ""), ("approved", None, ""), ("approved", 4, "right answer"), ("approved", 4, "right answer")]
    assert history[4].meta == {"note": 1} and history[-1].sample.messages[0].content == "edited"
    assert history[0].created_at <= history[-1].created_at
    with pytest.raises(TypeError, match="cannot revise source"):
        store.revise(sid, source="human")


def test_undo_restores_the_previous_version_as_a_new_revision(tmp_path):
    store = Store(tmp_path / "c.db")
    sid = store.add_sample(sample(), source="rollout")
    with pytest.raises(TooltuneError, match="no earlier version"):
        store.undo(sid)
    store.update_sample(sid, sample("edited"), status="approved", human_score=5, human_comment="ok")
    assert store.undo(sid, author="ann") == 3
    got = store.get_sample(sid)
    assert (got.sample, got.status, got.human_score, got.human_comment, got.revision) == (sample(), "draft", None, "", 3)
    assert [r.author for r in store.revisions(sid)] == ["rollout", "human", "ann"]  # the undone edit stays in history
    with pytest.raises(StaleRevisionError):
        store.undo(sid, expected_revision=2)


def test_a_store_from_before_full_revisions_is_migrated(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE revisions (id INTEGER PRIMARY KEY, sample_id INTEGER NOT NULL, revision INTEGER NOT NULL,
                                data TEXT NOT NULL, author TEXT NOT NULL, created_at REAL NOT NULL, UNIQUE (sample_id, revision));
    """)
    conn.close()
    store = Store(path)
    sid = store.add_sample(sample())
    store.set_human_score(sid, 2, "wrong number")
    assert [(r.revision, r.human_score, r.changes) for r in store.revisions(sid)] == [(1, None, ["created"]), (2, 2, ["human_score", "human_comment"])]


def test_search_and_queries_write_nothing(tmp_path):
    store = Store(tmp_path / "c.db")
    a = store.add_sample(sample("What is 50% of 8?"))
    store.add_sample(sample("weather_today"))
    assert [s.id for s in store.samples(search="50%")] == [a]
    assert [s.id for s in store.samples(search="what IS")] == [a]
    assert [s.id for s in store.samples(search="r_t")] == [2]  # _ is literal, not a wildcard
    assert list(store.samples(search="50_ of")) == []
    store.add_question("q1")
    store.add_question("q2")
    store.add_sample(sample("q1"), question_id=1)
    assert [q.text for q in store.questions_without_samples()] == ["q2"]
    assert store.human_scores() == [("?", None), ("?", None), ("?", None)]


def test_status_score_and_filters(tmp_path):
    store = Store(tmp_path / "c.db")
    a = store.add_sample(sample("a"), source="imported")
    b = store.add_sample(sample("b"), source="human", expect_tool_call=False)
    store.set_status(b, "approved")
    store.set_human_score(b, 4, "good")
    assert [s.id for s in store.samples(status="approved")] == [b]
    assert [s.id for s in store.samples(source="imported")] == [a]
    got = store.get_sample(b)
    assert (got.human_score, got.human_comment, got.expect_tool_call) == (4, "good", False)
    for bad in (lambda: store.set_status(a, "done"), lambda: store.set_human_score(a, 6), lambda: store.get_sample(99),
                lambda: store.set_human_score(a, True), lambda: store.set_status(99, "approved")):
        with pytest.raises(TooltuneError):
            bad()


def test_questions_are_unique_by_normalised_text(tmp_path):
    store = Store(tmp_path / "c.db")
    ids = store.add_questions([{"text": "What time?", "norm": "what time"}, {"text": "what time", "norm": "what time"}])
    assert ids[0] is not None and ids[1] is None
    assert [q.text for q in store.questions()] == ["What time?"]


def test_iterating_pages_through_many_rows(tmp_path):
    store = Store(tmp_path / "c.db")
    store.add_samples([{"sample": sample(str(i))} for i in range(1203)])
    assert [s.sample.messages[0].content for s in store.samples()] == [str(i) for i in range(1203)]


def test_concurrent_writers_in_threads_and_a_second_connection(tmp_path):
    path = tmp_path / "c.db"
    store, other = Store(path), Store(path)
    errors = []

    def write(s, tag):
        try:
            for i in range(40):
                sid = s.add_sample(sample(f"{tag}{i}"))
                s.update_sample(sid, sample(f"{tag}{i}!"), expected_revision=1)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, t)) for s, t in ((store, "a"), (store, "b"), (other, "c"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    texts = sorted(s.sample.messages[0].content for s in Store(path).samples())
    assert len(texts) == 120 and all(t.endswith("!") for t in texts)


WRITER = textwrap.dedent("""
    import sys
    from tooltune.data.store import Store
    from tooltune.messages import Message, Sample
    store = Store(sys.argv[1])
    batch = 0
    while True:
        items = [{"sample": Sample([Message("user", f"b{batch}-{i}")] + [Message("assistant", "x" * 2000)]),
                  "meta": {"batch": batch, "size": 50}} for i in range(50)]
        store.add_samples(items)
        print(batch, flush=True)
        batch += 1
""")


def test_kill_9_mid_batch_loses_nothing_committed_and_shows_nothing_half_written(tmp_path):
    path = tmp_path / "corpus.db"
    Store(path).close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    committed = -1
    deadline = time.time() + 60
    while committed < 5 and time.time() < deadline:  # several batches committed, one likely in flight
        committed = int(proc.stdout.readline())
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rows = list(Store(path).samples())
    batches = {}
    for r in rows:
        batches.setdefault(r.meta["batch"], []).append(r)
    assert set(range(committed + 1)) <= set(batches)  # every batch reported as committed is there
    assert all(len(v) == 50 for v in batches.values())  # and no batch is there in part
    assert all(r.sample.messages[1].content == "x" * 2000 for r in rows)
