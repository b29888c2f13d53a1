"""Repeated identical calls (note + `loop` status) and parallel calls (concurrent, bounded, in
call order, each with its own timeout). Driven by ScriptedLLM; concurrency is proven with a
barrier, never with timings."""

import threading
import time

from tooltune.agent import Agent
from tooltune.eval.aggregate import summarize
from tooltune.eval.items import load_items, smoke_eval_path
from tooltune.eval.runner import EvalRunner, EvalSettings
from tooltune.llm import ScriptedLLM
from tooltune.tools import Tool, ToolRegistry, builtin_registry

CALC = 'Thought: compute\nAction: calculator\nAction Input: {"expression": "23*47+12"}'
OTHER = 'Thought: compute\nAction: calculator\nAction Input: {"expression": "2+2"}'
FINAL = "Thought: done\nFinal Answer: 1093"


def agent(responses, **kw):
    return Agent(ScriptedLLM(responses), builtin_registry().select(["calculator"]), "react", **kw)


def test_a_repeated_call_gets_a_note_with_the_earlier_result():
    a = agent([CALC, CALC, FINAL])
    traj = a.run("q")
    assert traj.status == "final"
    tool_msgs = [m.content for m in traj.messages if m.role == "tool"]
    assert tool_msgs[0] == '{"result": 1093}'
    assert tool_msgs[1] == (
        "You already called calculator with exactly these arguments. Its result was:\n{\"result\": 1093}\n"
        "Do not repeat the call: give the final answer, or try a different tool or different arguments."
    )
    assert [e.kind for e in traj.events].count("repeated_call") == 1


def test_different_arguments_are_not_repeats():
    traj = agent([CALC, OTHER, FINAL], max_repeats=0).run("q")
    assert traj.status == "final" and [m.content for m in traj.messages if m.role == "tool"] == ['{"result": 1093}', '{"result": 4}']


def test_too_many_repeats_stop_with_status_loop():
    traj = agent([CALC, CALC, CALC, CALC, FINAL], max_repeats=1, max_steps=6).run("q")
    assert traj.status == "loop"
    assert sum(m.role == "assistant" for m in traj.messages) == 3  # the call, then two repeats (limit 1)
    assert traj.events[-1].kind == "loop" and traj.events[-1].data == {"repeats": 2, "limit": 1}
    assert agent([CALC, CALC, FINAL], max_repeats=1).run("q").status == "final"


def test_eval_counts_loops(tmp_path):
    item = [i for i in load_items(smoke_eval_path()) if i.id == "calc-zh-1"]
    call = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "(15 + 27) * 3"}}\n</tool_call>'
    llm = ScriptedLLM([call] * 5)  # two teacher-forced steps, then the free run repeats the call
    results = EvalRunner(llm, EvalSettings(format="json", extra_steps=3), batch_size=1).run(item, tmp_path / "r.jsonl")
    assert results[0]["free_run"]["status"] == "loop"
    summary = summarize(results)
    assert summary["loops"] == 1 and summary["free_run_status"] == {"loop": 1}


# -- parallel calls ------------------------------------------------------------------------------
def parallel_tools(barrier_parties: int, order: list[str], wait_s: float = 5):
    barrier = threading.Barrier(barrier_parties, timeout=wait_s)
    last_done = threading.Event()

    def fetch(city: str) -> str:
        """Look a city up.

        Args:
            city: the city
        """
        barrier.wait()  # returns only when `barrier_parties` calls run at the same time
        if city == "a":
            last_done.wait(5)  # finishes after "c": results must still come back in call order
        order.append(city)
        if city == "c":
            last_done.set()
        return city.upper()

    return ToolRegistry([Tool.from_function(fetch)])


STEP3 = "\n".join(f'<tool_call>\n{{"name": "fetch", "arguments": {{"city": "{c}"}}}}\n</tool_call>' for c in "abc")


def test_parallel_calls_run_concurrently_and_return_in_call_order():
    order: list[str] = []
    a = Agent(ScriptedLLM([STEP3, "done"]), parallel_tools(3, order), "json", max_parallel_calls=3)
    traj = a.run("q")
    assert [m.content for m in traj.messages if m.role == "tool"] == ["A", "B", "C"]
    assert order.index("c") < order.index("a")  # "a" finished after "c", yet its result is first
    assert [m.tool_call_id for m in traj.messages if m.role == "tool"] == [c.id for c in traj.messages[1].tool_calls]
    observations = [e.data["output"] for e in traj.events if e.kind == "observation"]
    assert observations == ["A", "B", "C"]


def test_parallel_calls_are_bounded():
    order: list[str] = []
    tools = parallel_tools(3, order, wait_s=1)
    a = Agent(ScriptedLLM([STEP3, "done"]), tools, "json", max_parallel_calls=2)
    outputs = [m.content for m in a.run("q").messages if m.role == "tool"]
    # with two at a time the barrier of three can never fill: every call fails instead of passing
    assert outputs == ["error: BrokenBarrierError: "] * 3 and order == []


def test_each_parallel_call_keeps_its_own_timeout():
    def slow() -> str:
        """Never returns in time."""
        time.sleep(3)
        return "late"

    def quick() -> str:
        """Returns at once."""
        return "ok"

    tools = ToolRegistry([Tool.from_function(slow), Tool.from_function(quick)])
    tools.get("slow").timeout_s = 0.2
    step = '<tool_call>\n{"name": "slow", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "quick", "arguments": {}}\n</tool_call>'
    traj = Agent(ScriptedLLM([step, "done"]), tools, "json").run("q")
    assert [m.content for m in traj.messages if m.role == "tool"] == ["error: slow timed out after 0.2s", "ok"]


def test_rollout_stores_a_looping_conversation_as_rejected(tmp_path):
    """Batched and sequential rollouts both stop a model that repeats one call (default limit 2)."""
    from tooltune.data.rollout import RolloutConfig, rollout
    from tooltune.data.store import Store

    for batched in (True, False):
        store = Store(tmp_path / f"c{batched}.db")
        tools = builtin_registry().select(["calculator"])
        questions = ["What is 23*47+12?", "Compute 23*47+12"]  # two, so the batched path really batches
        store.add_questions([{"text": t, "norm": t, "kind": "positive", "tools": tools.to_openai()} for t in questions])
        store.set_question_verdicts([(q.id, "yes", "", "approved") for q in store.questions()])
        counts = rollout(store, ScriptedLLM([CALC] * 8), tools, RolloutConfig(batched=batched, batch_size=2))
        assert counts == {"loop": 2}
        for sample in store.samples(source="rollout"):
            assert sample.status == "rejected" and sample.meta["trajectory_status"] == "loop"
            assert sum(m.role == "assistant" for m in sample.sample.messages) == 4  # the call + 3 repeats (limit 2)
