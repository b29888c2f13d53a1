"""The agent loop, driven by ScriptedLLM (a test double returning queued canned completions)."""

import json

from tooltune.agent import Agent, Trajectory
from tooltune.agent.edit import edit_observation, edit_tool_call, truncate_after_step
from tooltune.llm import Completion, ScriptedLLM
from tooltune.messages import Message, ToolCall
from tooltune.tools import Tool, ToolRegistry, builtin_registry

CALC = 'Thought: I need to compute.\nAction: calculator\nAction Input: {"expression": "23*47+12"}\nObservation: 99'
FINAL = "Thought: I now know the final answer\nFinal Answer: 1093"


def make_agent(responses, fmt="react", **kw):
    return Agent(ScriptedLLM(responses), builtin_registry().select(["calculator", "web_search"]), fmt, **kw)


def test_react_run_produces_a_canonical_trajectory():
    agent = make_agent([CALC, FINAL])
    traj = agent.run("What is 23*47+12?")
    assert traj.status == "final" and traj.final_answer == "1093"
    roles = [m.role for m in traj.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    call = traj.messages[1].tool_calls[0]
    assert (call.name, call.arguments) == ("calculator", {"expression": "23*47+12"})
    assert traj.messages[2].content == '{"result": 1093}' and traj.messages[2].tool_call_id == call.id  # real tool, not the hallucinated 99
    assert traj.messages[1].reasoning_content == "I need to compute."
    # the second prompt continued the scratchpad after the real observation
    second = agent.llm.requests[1]
    assert second.rendered.open_last and second.rendered.turns[-1].text.endswith('Observation: {"result": 1093}\n')
    assert [e.kind for e in traj.events] == ["thought", "tool_call", "observation", "thought", "final_answer"]


def test_stream_yields_tokens_then_events_then_the_trajectory():
    events = list(make_agent([CALC, FINAL]).stream("q"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "token" and kinds[-1] == "stopped"
    assert kinds.index("tool_call") < kinds.index("observation") < kinds.index("final_answer")
    assert isinstance(events[-1].data["trajectory"], Trajectory)
    streamed = "".join(e.data["text"] for e in events if e.kind == "token")
    assert "Observation: 99" not in streamed  # the stop string cut the hallucination


def test_format_errors_are_fed_back_then_bounded():
    agent = make_agent(["Action: teleport\nAction Input: {}", CALC, FINAL])
    traj = agent.run("q")
    assert traj.status == "final"
    retry = agent.llm.requests[1]
    assert "unknown tool 'teleport'" in retry.messages[-1].content and retry.messages[-1].role == "user"
    assert all(m.content != "Action: teleport\nAction Input: {}" for m in traj.messages)  # not in the sample
    stuck = make_agent(["Thought: hmm"] * 3, max_format_retries=2).run("q")
    assert stuck.status == "format_error" and [m.role for m in stuck.messages] == ["user"]
    assert sum(e.kind == "format_error" for e in stuck.events) == 3


def test_max_steps_stops_a_model_that_never_stops():
    traj = make_agent([CALC] * 5, max_steps=3).run("q")
    assert traj.status == "max_steps" and sum(m.role == "assistant" for m in traj.messages) == 3


def test_tool_failures_are_observations_and_the_loop_goes_on():
    def broken(x: str) -> str:
        """Always fails."""
        raise ValueError("broken backend")

    registry = ToolRegistry([Tool.from_function(broken)])
    agent = Agent(ScriptedLLM(['Action: broken\nAction Input: {"x": "a"}', "Final Answer: sorry"]), registry)
    traj = agent.run("q")
    assert traj.messages[2].content == "error: ValueError: broken backend" and traj.status == "final"


def test_json_format_parallel_calls():
    both = ('<tool_call>\n{"name": "calculator", "arguments": {"expression": "1+1"}}\n</tool_call>\n'
            '<tool_call>\n{"name": "calculator", "arguments": {"expression": "2*3"}}\n</tool_call>')
    agent = make_agent([both, "2 and 6"], fmt="json")
    traj = agent.run("q")
    assert [m.content for m in traj.messages if m.role == "tool"] == ['{"result": 2}', '{"result": 6}']
    assert traj.final_answer == "2 and 6"
    assert agent.llm.requests[1].rendered.turns[-1].text.count("<tool_response>") == 2


def test_structured_tool_calls_from_a_server_are_used():
    served = Completion("", tool_calls=[ToolCall("Calculator", {"expression": "5*5"}, id="x")])
    traj = make_agent([served, "25"], fmt="native").run("q")
    assert traj.messages[1].tool_calls[0].name == "calculator" and traj.messages[2].content == '{"result": 25}'


def test_resume_from_an_edited_step():
    first = make_agent([CALC, FINAL]).run("What is 23*47+12?")
    edited = edit_tool_call(first.messages, step=0, arguments={"expression": "23*47+13"})
    assert [m.role for m in edited] == ["user", "assistant"]  # later steps dropped
    agent = make_agent(["Thought: done\nFinal Answer: 1094"])
    resumed = agent.run(edited)
    assert resumed.messages[2].content == '{"result": 1094}'  # the edited call ran for real
    assert resumed.final_answer == "1094" and len(agent.llm.requests) == 1


def test_resume_after_editing_an_observation_and_from_a_prefix():
    first = make_agent([CALC, FINAL]).run("q")
    changed = edit_observation(first.messages, step=0, output="1000")
    agent = make_agent(["Final Answer: 1000"])
    assert agent.run(changed).final_answer == "1000"
    assert "Observation: 1000\n" in agent.llm.requests[0].rendered.turns[-1].text
    prefix = truncate_after_step(first.messages, 0)[:-1]  # just the question
    assert make_agent([FINAL]).run(prefix).final_answer == "1093"


def test_a_finished_trajectory_is_not_rerun():
    first = make_agent([CALC, FINAL]).run("q")
    agent = make_agent([])
    assert agent.run(first.messages).status == "final" and agent.llm.requests == []


def test_trajectory_save_and_load(tmp_path):
    traj = make_agent([CALC, FINAL]).run("q")
    path = tmp_path / "t.json"
    traj.save(path)
    loaded = Trajectory.from_json(json.loads(path.read_text()))
    assert loaded.sample().to_openai() == traj.sample().to_openai()
    assert loaded.status == "final" and [e.kind for e in loaded.events] == [e.kind for e in traj.events]
    assert [m.role for m in loaded.messages] == ["user", "assistant", "tool", "assistant"]


def test_system_prompt_is_prepended():
    agent = make_agent([FINAL])
    traj = agent.run("q", system="Be brief.")
    assert traj.messages[0] == Message("system", "Be brief.")
    assert agent.llm.requests[0].rendered.turns[0].text.startswith("Be brief.\n\n")


def test_cancel_stops_the_loop_and_keeps_completed_steps():
    agent = make_agent([CALC] * 5, max_steps=5)
    seen = []

    def on_event(event):
        seen.append(event.kind)
        if event.kind == "observation":
            agent.cancel()  # a person presses "stop" after the first tool result

    traj = agent.run("q", on_event=on_event)
    assert traj.status == "stopped"
    assert [m.role for m in traj.messages] == ["user", "assistant", "tool"]
    assert len(agent.llm.requests) == 1
    agent.llm.queue = [Completion(FINAL)]
    assert agent.run(traj.messages).status == "final"  # a stopped run resumes where it stopped


def test_cancel_halts_real_generation(tiny_model, smol_tokenizer):
    """The same greedy request runs its whole budget uncancelled; cancelled while it streams (on
    its first text), it stops right there — the event really reaches the decoding loop — and a
    request cancelled before it starts generates nothing."""
    from tooltune.llm.transformers_backend import TransformersLLM

    llm = TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer)
    agent = Agent(llm, builtin_registry(), "react", max_tokens=40)
    request = agent.request([Message("user", "hi")])
    request.stop = []
    full = llm.complete(request)
    assert (full.completion_tokens, full.finish_reason) == (40, "length")  # this model does not stop on its own
    cut = llm.complete(request, on_text=lambda text: agent.cancel())  # what a person pressing "stop" does
    assert request.cancel.is_set()
    assert (cut.completion_tokens, cut.finish_reason) == (1, "stop")
    assert full.text.startswith(cut.text) and cut.text
    assert llm.complete(request).completion_tokens == 0

# -- issue 35: a call cut off mid-way is reported, never run ---------------------------------------
CUT_TWO = ('<tool_call>\n{"name": "calculator", "arguments": {"expression": "2+2"}}\n</tool_call>\n'
           '<tool_call>\n{"name": "calculator", "arguments": {"expression": "9*9')
JSON_FINAL = "The answer is 4."


def test_the_complete_call_runs_and_the_cut_off_one_is_reported():
    agent = make_agent([CUT_TWO, JSON_FINAL], fmt="json")
    traj = agent.run("q")
    assert traj.status == "final"
    calls = traj.messages[1].tool_calls
    assert [(c.name, c.arguments) for c in calls] == [("calculator", {"expression": "2+2"})]
    assert [m.content for m in traj.messages if m.role == "tool"] == ['{"result": 4}']  # 9*9 never ran
    cut = [e.data for e in traj.events if e.kind == "truncated_call"]
    assert cut == [{"call": "calculator: the <tool_call> block is cut off before </tool_call>"}]
    step = make_agent([CUT_TWO], fmt="json").step([Message("user", "q")])
    assert step.truncated == ["calculator: the <tool_call> block is cut off before </tool_call>"] and len(step.results) == 1


def test_a_step_with_only_a_cut_off_call_is_a_format_error_fed_back():
    only_cut = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "9*9'
    agent = make_agent([only_cut, JSON_FINAL], fmt="json")
    traj = agent.run("q")
    assert traj.status == "final" and [m.role for m in traj.messages] == ["user", "assistant"]
    feedback = agent.llm.requests[1].messages[-1].content
    assert feedback == ("Format error: calculator: the <tool_call> block is cut off before </tool_call> "
                        "(a truncated call, not run). Please follow the required format.")
    assert [e.kind for e in traj.events][:2] == ["truncated_call", "format_error"]


def test_server_parsed_calls_that_hit_max_tokens_drop_the_last_one():
    cut = Completion("", [ToolCall("calculator", {"expression": "2+2"}), ToolCall("calculator", {"expression": "9*"})], "length")
    agent = make_agent([cut, FINAL])
    traj = agent.run("q")
    assert [(c.name, c.arguments) for c in traj.messages[1].tool_calls] == [("calculator", {"expression": "2+2"})]
    assert [e.data for e in traj.events if e.kind == "truncated_call"] == [{"call": "calculator: the completion hit max_tokens inside it"}]
    whole = Completion("", [ToolCall("calculator", {"expression": "2+2"})], "stop")
    assert make_agent([whole]).parse(whole).truncated == []
