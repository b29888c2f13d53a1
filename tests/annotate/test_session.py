"""The annotation logic without the page: run, edit, continue, save, undo, stale saves, queue."""

import json

import pytest

from tooltune.annotate.session import Annotator, StepFields
from tooltune.data.pairs import preference_pairs
from tooltune.data.store import StaleRevisionError, Store
from tooltune.errors import TooltuneError
from tooltune.llm import ScriptedLLM
from tooltune.messages import Message, Sample, ToolCall
from tooltune.tools import builtin_registry

CALL = 'Thought: I will compute it.\nAction: calculator\nAction Input: {"expression": "3*7"}'
FINAL = "Thought: I have it.\nFinal Answer: The answer is {}."
TOOLS = builtin_registry().select(["calculator"])


def annotator(store, replies):
    return Annotator(store, ScriptedLLM(replies), "react", builtin_registry(), model_name="scripted")


def drain(gen):
    *_, (text, item) = list(gen)
    return text, item


def test_question_run_edit_continue_save(tmp_path):
    store = Store(tmp_path / "c.db")
    store.add_question("What is 3*8?", tools=TOOLS.to_openai())
    ann = annotator(store, [CALL, FINAL.format(24)])
    assert ann.queue("new") == [("Q1 · new · What is 3*8?", "q1")]
    item = ann.open("q1")
    text, item = drain(ann.run(item, max_steps=1))
    assert "Action: calculator" in text and item.model_unsaved and item.sample_id is None
    assert [m.role for m in item.messages] == ["user", "assistant", "tool"] and item.messages[2].content == '{"result": 21}'
    fields = ann.step_fields(item, 0)
    assert (fields.tool, json.loads(fields.arguments), fields.observation) == ("calculator", {"expression": "3*7"}, '{"result": 21}')
    for bad, error in (('{"expression": ', "not valid JSON"), ('["3*8"]', "JSON object"), ('{"expr": "3*8"}', "'expression' is a required property")):
        with pytest.raises(TooltuneError, match=error):
            ann.edited(item, 0, StepFields(fields.thought, "calculator", bad))
    with pytest.raises(TooltuneError, match="unknown tool 'teleport'"):
        ann.edited(item, 0, StepFields(fields.thought, "teleport", "{}"))
    edited = ann.edited(item, 0, StepFields(fields.thought, "calculator", '{"expression": "3*8"}', "21"))
    item = ann.apply(item, "ann", edited)
    assert item.sample_id == 1 and item.revision == 2 and not item.model_unsaved
    assert item.messages[-1].tool_calls[0].arguments == {"expression": "3*8"}  # pending: no result yet
    text, item = drain(ann.run(item))  # continue from here: the edited call runs first, then the model
    assert [m.content for m in item.messages[2:]] == ['{"result": 24}', "The answer is 24."]
    item = ann.save(item, "ann", "approved", 5, "fixed the expression")
    got = store.get_sample(1)
    assert (got.status, got.human_score, got.human_comment, got.source, got.question_id) == ("approved", 5, "fixed the expression", "human", 1)
    assert got.sample.messages == item.messages
    assert [(r[1], r[3]) for r in ann.history(item)] == [
        ("model:scripted", "created"), ("ann", "messages"), ("model:scripted", "messages"), ("ann", "status, human_score, human_comment")]
    pair, = preference_pairs(store)
    assert (pair.rejected.tool_calls[0].arguments, pair.chosen.tool_calls[0].arguments) == ({"expression": "3*7"}, {"expression": "3*8"})
    assert ann.counts() == {"approved": 1, "rejected": 0, "remaining": 0}


def test_a_stale_save_is_refused_and_the_fresh_version_offered(tmp_path):
    store = Store(tmp_path / "c.db")
    call = ToolCall("calculator", {"expression": "3*7"}, "c1")
    sid = store.add_sample(Sample([Message("user", "3*7?"), Message("assistant", None, [call]),
                                   Message("tool", "21", tool_call_id="c1", name="calculator"), Message("assistant", "21")],
                                  TOOLS.to_openai()), source="rollout")
    alice, bob = annotator(Store(tmp_path / "c.db"), []), annotator(Store(tmp_path / "c.db"), [])
    a_item, b_item = alice.open(f"s{sid}"), bob.open(f"s{sid}")
    alice.save(a_item, "alice", "approved", 5)
    b_edit = bob.edited(b_item, 1, StepFields(answer="It is 21."))
    with pytest.raises(StaleRevisionError, match="revision 2, not 1"):
        bob.apply(b_item, "bob", b_edit)
    with pytest.raises(StaleRevisionError):
        bob.save(b_item, "bob", "rejected", 1)
    got = store.get_sample(sid)
    assert (got.status, got.human_score, got.revision) == ("approved", 5, 2)  # alice's work intact
    fresh = bob.open(f"s{sid}")
    assert (fresh.revision, fresh.status) == (2, "approved")
    bob.apply(fresh, "bob", bob.edited(fresh, 1, StepFields(answer="It is 21.")))
    assert [r[1] for r in bob.history(fresh)] == ["rollout", "alice", "bob"]


def test_undo_drops_unsaved_model_steps_then_saved_changes(tmp_path):
    store = Store(tmp_path / "c.db")
    sid = store.add_sample(Sample([Message("user", "3*7?"), Message("assistant", "22")], TOOLS.to_openai()), source="rollout")
    ann = annotator(store, [])
    item = ann.open(f"s{sid}")
    item = ann.apply(item, "ann", ann.edited(item, 0, StepFields(answer="21")))
    item = ann.undo(item, "ann")
    assert item.messages[-1].content == "22" and item.revision == 3
    with pytest.raises(TooltuneError, match="nothing changed"):
        ann.apply(item, "ann", list(item.messages))


def test_turning_a_final_answer_into_a_call_and_back(tmp_path):
    store = Store(tmp_path / "c.db")
    sid = store.add_sample(Sample([Message("user", "3*7?"), Message("assistant", "22")], TOOLS.to_openai()), source="rollout")
    ann = annotator(store, [])
    item = ann.open(f"s{sid}")
    msgs = ann.edited(item, 0, StepFields(thought="compute", tool="calculator", arguments='{"expression": "3*7"}'))
    assert msgs[-1].tool_calls[0].arguments == {"expression": "3*7"} and msgs[-1].reasoning_content == "compute"
    item.messages = msgs
    back = ann.edited(item, 0, StepFields(thought="", tool="", answer="21"))
    assert back[-1] == Message("assistant", "21")


def test_queue_filters_search_and_counts(tmp_path):
    store = Store(tmp_path / "c.db")
    store.add_question("How far is Paris?")
    store.add_question("judged useless")
    store.set_question_verdicts([(2, "no", "", "rejected")])
    a = store.add_sample(Sample([Message("user", "What is 50% of 8?")]))
    b = store.add_sample(Sample([Message("user", "Time in Tokyo?")]), status="approved")
    ann = annotator(store, [])
    assert [k for _, k in ann.queue("all")] == ["q1", f"s{a}", f"s{b}"]
    assert [k for _, k in ann.queue("draft")] == [f"s{a}"]
    assert [k for _, k in ann.queue("all", "tokyo")] == [f"s{b}"]
    assert [k for _, k in ann.queue("all", "paris")] == ["q1"]
    assert ann.counts() == {"approved": 1, "rejected": 0, "remaining": 2}
    with pytest.raises(TooltuneError, match="unknown filter"):
        ann.queue("done")
