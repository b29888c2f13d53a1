"""The render cache must reproduce the format's own rendering byte for byte (interfaces rule 1:
a model is being trained on exactly that text), for every prefix of every conversation shape."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tooltune.agent import Agent
from tooltune.agent.edit import edit_observation, edit_thought, edit_tool_call, truncate_after_step
from tooltune.agent.render_cache import RenderCache
from tooltune.formats import get_format
from tooltune.formats.base import Rendered
from tooltune.llm import ScriptedLLM
from tooltune.messages import Message, ToolCall
from tooltune.tools import builtin_registry

TOOLS = builtin_registry().to_openai()
text = st.text(alphabet=st.sampled_from(list("ab 1:{}\n观察Observation")), max_size=12)


@st.composite
def conversations(draw):
    msgs = [Message("system", draw(text))] if draw(st.booleans()) else []
    late_system = draw(st.booleans())
    n_call = 0
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["user", "call", "final"]))
        if kind == "user":
            msgs.append(Message("user", draw(text)))
        elif kind == "final":
            msgs.append(Message("assistant", draw(text), reasoning_content=draw(st.none() | text)))
        else:
            calls = []
            for _ in range(draw(st.integers(1, 3))):
                n_call += 1
                calls.append(ToolCall("calculator", {"expression": draw(text)}, f"c{n_call}"))
            msgs.append(Message("assistant", draw(st.none() | text), tool_calls=calls, reasoning_content=draw(st.none() | text)))
            for call in calls[: draw(st.integers(0, len(calls)))]:
                msgs.append(Message("tool", draw(text), tool_call_id=call.id, name=call.name))
    if late_system and len(msgs) > 2:  # a system message mid-conversation: rendered whole, still identical
        msgs.insert(len(msgs) // 2 + 1, Message("system", draw(text)))
    return msgs


def shape(r: Rendered):
    return r.open_last, r.tools, [(t.role, [(s.text, s.train) for s in t.segments], t.extra) for t in r.turns]


@settings(max_examples=150, deadline=None)
@given(conv=conversations(), fmt_name=st.sampled_from(["json", "react", "native"]), lang=st.sampled_from(["en", "zh"]),
       tool_role=st.sampled_from(["user", "tool"]))
def test_every_prefix_renders_identically(conv, fmt_name, lang, tool_role):
    fmt = get_format(fmt_name, lang, tool_role)
    cache = RenderCache(fmt)
    assert cache.join is not None  # the cache is really in use for these formats
    for end in range(1, len(conv) + 1):
        prefix = conv[:end]
        assert shape(cache.render(prefix, TOOLS)) == shape(fmt.render(prefix, TOOLS))


@settings(max_examples=100, deadline=None)
@given(conv=conversations(), fmt_name=st.sampled_from(["json", "react", "native"]), retry_at=st.integers(0, 8))
def test_one_list_grown_by_appending_renders_identically(conv, fmt_name, retry_at):
    """The fast path (the same list, only appended to, as Agent.run does), interleaved once with
    another list (a retry prompt) that sends the cache down the slow path and back."""
    fmt = get_format(fmt_name)
    cache = RenderCache(fmt)
    grown: list[Message] = []
    for i, msg in enumerate(conv):
        grown.append(msg)
        if i == retry_at:
            retry = grown + [Message("assistant", "bad"), Message("user", "Format error")]
            assert shape(cache.render(retry, TOOLS)) == shape(fmt.render(retry, TOOLS))
        assert shape(cache.render(grown, TOOLS)) == shape(fmt.render(list(grown), TOOLS))


def test_groups_are_rendered_once_and_earlier_prompts_never_change():
    calls = []
    fmt = get_format("react")
    original = fmt.render
    fmt.render = lambda m, t: calls.append(len(m)) or original(m, t)
    cache = RenderCache(fmt)
    calls.clear()
    conv = [Message("user", "q")]
    first = cache.render(conv, TOOLS)
    snapshot = shape(first)
    for i in range(20):
        call = ToolCall("calculator", {"expression": "1+1"}, f"c{i}")
        conv += [Message("assistant", None, tool_calls=[call]), Message("tool", "2", tool_call_id=call.id, name="calculator")]
        cache.render(conv, TOOLS)
    # never the whole conversation: the system turn once, then each group once (a step's last
    # group is reused when the next step commits it), whatever the length of the history
    assert calls == [0, 1] + [2] * 20
    assert shape(first) == snapshot  # splicing copies the open turn, it never edits a returned one


def test_the_system_turn_is_cached_on_the_tools_content():
    """An equal tool list built afresh (each server request, each eval item) reuses the system
    turn; the same list changed in place renders it anew, and the prompt shows the change."""
    import copy

    fmt = get_format("react")
    cache = RenderCache(fmt)
    seen_tools = []
    original = fmt.render
    fmt.render = lambda m, t: (seen_tools.append(copy.deepcopy(t)) if not m else None) or original(m, t)
    conv = [Message("user", "q")]
    tools = copy.deepcopy(TOOLS)
    cache.render(conv, tools)
    cache.render(conv, copy.deepcopy(TOOLS))  # rebuilt, equal: a hit
    assert len(seen_tools) == 1
    tools[0]["function"]["description"] = "Changed in place."
    changed = cache.render(conv, tools)  # same object, new content: a miss
    assert len(seen_tools) == 2 and seen_tools[1][0]["function"]["description"] == "Changed in place."
    assert shape(changed) == shape(original(conv, tools)) and "Changed in place." in changed.turns[0].text


def test_agent_requests_match_the_full_render():
    steps = ['Thought: t\nAction: calculator\nAction Input: {"expression": "1+%d"}' % i for i in range(4)]
    agent = Agent(ScriptedLLM(steps + ["Final Answer: 5"]), builtin_registry(), "react", max_steps=6)
    assert agent.run("q").status == "final"
    # one request per step, each a step longer: a run that made no request, or stopped early,
    # would leave nothing to compare below
    assert [len(request.messages) for request in agent.llm.requests] == [1, 3, 5, 7, 9] and not agent.llm.queue
    for request in agent.llm.requests:
        assert shape(request.rendered) == shape(agent.format.render(request.messages, agent.tool_specs))


STEPS = {
    "json": '<tool_call>\n{"name": "calculator", "arguments": {"expression": "1+%d"}}\n</tool_call>',
    "react": 'Thought: t\nAction: calculator\nAction Input: {"expression": "1+%d"}',
}
FINALS = {"json": "It is 5.", "react": "Thought: done\nFinal Answer: 5"}


@pytest.mark.parametrize("fmt_name", ["json", "react"])
def test_one_agent_resumed_after_edits_prompts_exactly_as_a_full_render(fmt_name):
    """Editing reuses the agent, so its render cache holds groups of the run before: an edited
    observation or call is a new message, and must never be served from the cache (the last
    group rendered, whose first message the edited group shares, is the easy one to get wrong)."""
    step, final = STEPS[fmt_name], FINALS[fmt_name]
    script = [step % i for i in range(3)] + [final] + [final] * 2 + [step % 9, final] + [final]
    agent = Agent(ScriptedLLM(script), builtin_registry(), fmt_name, max_steps=8)
    first = agent.run("q")
    last_observation = edit_observation(first.messages, step=2, output="edited result")
    assert agent.run(last_observation).status == "final"
    edited_call = edit_tool_call(first.messages, step=0, arguments={"expression": "40+2"})
    assert agent.run(edited_call).messages[2].content == '{"result": 42}'
    assert agent.run(edit_thought(first.messages, step=1, thought="thought again")).status == "final"
    assert agent.run(truncate_after_step(first.messages, 1)).status == "final"
    assert len(agent.llm.requests) == 9 and not agent.llm.queue
    for request in agent.llm.requests:
        assert shape(request.rendered) == shape(agent.format.render(request.messages, agent.tool_specs))
