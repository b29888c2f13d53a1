"""Context fitting (short-term memory): the stated policy, exact counts, and never a silent
overflow. The fitter is checked with character counting for exact arithmetic, then in the loop."""

from tooltune.agent import Agent
from tooltune.agent.context import TURN_OVERHEAD, ContextFitter
from tooltune.formats.base import Rendered, Segment, Turn
from tooltune.llm import ScriptedLLM
from tooltune.messages import Message, ToolCall
from tooltune.tools import Tool, ToolRegistry


def plain(msgs):
    return Rendered([Turn(m.role, [Segment(m.text)]) for m in msgs])


def conversation(steps=4, result="x" * 100):
    msgs = [Message("system", "S" * 10), Message("user", "T" * 10)]
    for i in range(steps):
        call = ToolCall("f", {}, f"c{i}")
        msgs += [Message("assistant", None, tool_calls=[call]), Message("tool", f"{i}" + result, tool_call_id=call.id, name="f")]
    return msgs


def size(msgs):
    return sum(len(m.text) + TURN_OVERHEAD for m in msgs)


def test_a_prompt_that_fits_is_left_alone():
    msgs = conversation()
    fitter = ContextFitter(window=size(msgs) + 50, reserve=50, count=len)
    assert fitter.fit(msgs, plain) == (msgs, None)


def test_older_tool_results_are_shortened_first():
    msgs = conversation()
    fitter = ContextFitter(window=size(msgs) - 100 + 50, reserve=50, keep_last=2, result_chars=20, count=len)
    fitted, info = fitter.fit(msgs, plain)
    assert info["shortened_results"] == 2 and info["dropped_steps"] == 0 and info["fits"]
    assert fitted[:2] == msgs[:2] and fitted[-4:] == msgs[-4:]  # system, task and the last two steps whole
    assert fitted[3].text.startswith("0" + "x" * 19 + " …[81 chars cut]")
    assert "latest 2 steps" in info["policy"]
    again, _ = fitter.fit(msgs, plain)
    assert again[3] is fitted[3]  # the same shortened copy every step (the render cache relies on it)


def test_then_the_oldest_middle_steps_are_dropped_whole():
    msgs = conversation(steps=5)
    fitter = ContextFitter(window=size(msgs[:2]) + size(msgs[-4:]) + 60 + 50, reserve=50, keep_last=2, result_chars=20, count=len)
    fitted, info = fitter.fit(msgs, plain)
    assert info["fits"] and info["dropped_steps"] == 2 and info["shortened_results"] == 3
    assert [m.tool_call_id for m in fitted if m.role == "tool"] == ["c2", "c3", "c4"]
    assert all(m.role != "tool" or fitted[i - 1].role == "assistant" for i, m in enumerate(fitted))


def test_a_task_too_long_for_the_window_is_reported_not_overflowed():
    msgs = conversation(steps=1)
    fitted, info = ContextFitter(window=60, reserve=50, count=len).fit(msgs, plain)
    assert info["fits"] is False and info["tokens_after"] > 10


def test_the_loop_fits_its_prompts_and_keeps_the_trajectory_whole():
    def fetch(page: int) -> str:
        """Fetch a page.

        Args:
            page: which page
        """
        return f"page {page}: " + "lorem ipsum " * 200

    calls = ['<tool_call>\n{"name": "fetch", "arguments": {"page": %d}}\n</tool_call>' % i for i in range(4)]
    llm = ScriptedLLM(calls + ["done"])
    traj = Agent(llm, ToolRegistry([Tool.from_function(fetch)]), "json", max_steps=6, max_tokens=64, context_window=2200).run("read")
    assert traj.status == "final" and sum(m.role == "tool" for m in traj.messages) == 4  # canonical sample whole
    events = [e.data for e in traj.events if e.kind == "context"]
    assert events and all(e["fits"] for e in events)
    last_prompt = llm.requests[-1].messages
    assert len(last_prompt) < len(traj.messages) - 1 or any("chars cut]" in m.text for m in last_prompt)
    too_small = Agent(ScriptedLLM(["x"]), ToolRegistry(), "json", max_tokens=64, context_window=80).run("q " * 200)
    assert too_small.status == "context_overflow" and [e.kind for e in too_small.events] == ["context"]
