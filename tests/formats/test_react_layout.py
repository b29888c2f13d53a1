"""One ReAct layout for prompting, training, parsing and the text exports (formats/react_layout.py).

Each Action is followed by its own Observation, also for the calls of a parallel step; rendering
and parsing (the format's completion parser and the dataset importer) round-trip over single,
parallel and multi-step samples in English and Chinese."""

import pytest

from tooltune.data.react_text import CallCounter, parse_scratchpad, render_scratchpad
from tooltune.eval.items import make_item
from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.messages import Message, Sample, ToolCall
from tooltune.tools import builtin_registry

TOOLS = builtin_registry().to_openai()


def _call(name, cid, **args):
    return ToolCall(name, args, id=cid)


def _tool(cid, name, text):
    return Message("tool", text, tool_call_id=cid, name=name)


def samples(lang):
    zh = lang == "zh"
    q1, q2 = ("上海现在几点？顺便算一下 3*4", "再搜一下上海天气") if zh else ("Time in Shanghai, and 3*4?", "Now search the weather there")
    t1, t2, t3 = ("我需要同时查时间和计算", "我来搜索天气", "我现在知道了") if zh else ("I need the time and a product", "I will search", "Got it")
    parallel = Message("assistant", None, tool_calls=[_call("current_time", "c1", timezone="Asia/Shanghai"),
                                                       _call("calculator", "c2", expression="3*4")], reasoning_content=t1)
    single = [Message("user", q2), Message("assistant", None, tool_calls=[_call("web_search", "c3", query="上海 天气" if zh else "Shanghai weather")], reasoning_content=t2),
              _tool("c3", "web_search", "晴，25°C" if zh else "sunny, 25C"), Message("assistant", "晴天。" if zh else "Sunny.", reasoning_content=t3)]
    return {
        "single": [Message("user", q2)] + single[1:],
        "parallel": [Message("user", q1), parallel, _tool("c1", "current_time", "12:00"), _tool("c2", "calculator", "12"),
                     Message("assistant", "12:00, 12", reasoning_content=t3)],
        "multi_step": [Message("user", q1), parallel, _tool("c1", "current_time", "12:00"), _tool("c2", "calculator", "12"),
                       Message("assistant", None, tool_calls=[_call("calculator", "c9", expression="12*2")], reasoning_content=t2),
                       _tool("c9", "calculator", "24"), Message("assistant", "24", reasoning_content=t3), *single],
    }


CASES = [(lang, name) for lang in ("en", "zh") for name in ("single", "parallel", "multi_step")]


def _shape(messages):
    """Messages without call ids (an import numbers them afresh)."""
    out = []
    for m in messages:
        calls = [(c.name, c.arguments) for c in m.tool_calls]
        out.append((m.role, m.content or None, calls, m.reasoning_content, m.text if m.role == "tool" else None))
    return out


def test_parallel_step_puts_each_observation_after_its_action():
    msgs = samples("en")["parallel"]
    turn = get_format("react").render(msgs, TOOLS).turns[-1]
    assert turn.text == (
        'Thought: I need the time and a product\nAction: current_time\nAction Input: {"timezone": "Asia/Shanghai"}\nObservation: 12:00\n'
        'Action: calculator\nAction Input: {"expression": "3*4"}\nObservation: 12\nThought: Got it\nFinal Answer: 12:00, 12'
    )
    assert [s.text for s in turn.segments if not s.train] == [" 12:00\n", " 12\n"]


def _completions(turn):
    """What the model writes in a turn, completion by completion: each trained run of text."""
    return [s.text for s in turn.segments if s.train]


@pytest.mark.parametrize("lang,name", CASES)
def test_format_render_then_parse_round_trips(lang, name):
    """Parse each completion of the rendered training text back the way the agent does; calls
    written after an observation with no new Thought join the step before (a parallel step)."""
    fmt = get_format("react", lang)
    msgs = samples(lang)[name]
    rebuilt = []
    results = iter([m for m in msgs if m.role == "tool"])
    for turn in fmt.render(msgs, TOOLS).turns[1:]:
        if turn.role == "user":
            rebuilt.append(Message("user", turn.text))
            continue
        for text in _completions(turn):
            parsed = fmt.parse(text, TOOLS)
            assert parsed.kind != "invalid", (text, parsed.error)
            if parsed.kind == "final":
                rebuilt.append(Message("assistant", parsed.content, reasoning_content=parsed.thought))
                continue
            last = next((m for m in reversed(rebuilt) if m.role == "assistant"), None)
            if parsed.thought is None and last is not None and last.tool_calls and rebuilt[-1].role == "tool":
                tools_after = [m for m in rebuilt[rebuilt.index(last) + 1:]]
                rebuilt[rebuilt.index(last) + 1:] = []
                last.tool_calls += parsed.calls
                rebuilt += tools_after
            else:
                rebuilt.append(Message("assistant", None, tool_calls=parsed.calls, reasoning_content=parsed.thought))
            rebuilt += [next(results) for _ in parsed.calls]
    expected = [m for m in msgs]
    # the format writes a default thought before a final answer; a real thought is kept as is
    assert _shape(rebuilt) == _shape(expected)


@pytest.mark.parametrize("dialect", ["react", "agentfabric"])
@pytest.mark.parametrize("lang,name", CASES)
def test_export_render_then_import_round_trips(lang, name, dialect):
    msgs = samples(lang)[name]
    kwargs = {"final_keyword": "Answer", "result_tags": True, "thought_keyword": False} if dialect == "agentfabric" else {}
    turns, current = [], None
    for m in msgs:
        if m.role == "user":
            current = []
            turns.append((m, current))
        else:
            current.append(m)
    ids = CallCounter()
    rebuilt = []
    for user, rest in turns:
        rebuilt += [user] + parse_scratchpad(render_scratchpad(rest, **kwargs), TOOLS, ids)
    assert _shape(rebuilt) == _shape(msgs)


@pytest.mark.parametrize("lang,name", CASES)
def test_export_text_is_the_format_training_text(lang, name):
    """The ms_agent/alpaca export writes exactly what the ReAct format trains on."""
    msgs = samples(lang)[name]
    last_user = max(i for i, m in enumerate(msgs) if m.role == "user")
    turn = get_format("react", lang).render(msgs, TOOLS).turns[-1]
    assert render_scratchpad(msgs[last_user + 1:]) == turn.text


def test_older_exports_with_observations_after_all_actions_still_import_as_one_step():
    text = ('Thought: both\nAction: calculator\nAction Input: {"expression": "1"}\nAction: calculator\n'
            'Action Input: {"expression": "2"}\nObservation: 1\nObservation: 2\nFinal Answer: 1 and 2')
    out = parse_scratchpad(text, TOOLS, CallCounter())
    assert _shape(out) == [
        ("assistant", None, [("calculator", {"expression": "1"}), ("calculator", {"expression": "2"})], "both", None),
        ("tool", "1", [], None, "1"), ("tool", "2", [], None, "2"), ("assistant", "1 and 2", [], None, None),
    ]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_eval_asks_for_each_parallel_call_what_training_renders(smol_tokenizer, lang):
    """Teacher-forced ReAct eval asks for call j of a parallel step after calls 0..j-1 and their
    results: that prompt must be the training text right before call j, and call j's trained
    text must parse to the expected call."""
    msgs = samples(lang)["multi_step"]
    item = make_item("x", Sample(msgs, TOOLS), {}, "test")
    fmt, renderer = get_format("react", lang), ChatRenderer(smol_tokenizer)
    full = renderer.segments(fmt.render(msgs, TOOLS))
    text = "".join(s.text for s in full)
    trained_starts = {sum(len(s.text) for s in full[:i]) for i, s in enumerate(full) if s.train}
    refs = item.reference_steps(one_call_per_completion=True)
    assert [r.part for r in refs] == [0, 1, None, None, None, None]
    for ref in refs:
        prompt = renderer.prompt_text(fmt.render(ref.prefix, TOOLS))
        assert text.startswith(prompt) and len(prompt) in trained_starts, ref
        continuation = text[len(prompt):].split("Observation:")[0]
        parsed = fmt.parse(continuation, TOOLS)
        assert [(c.name, c.arguments) for c in parsed.calls] == [(c.name, c.arguments) for c in ref.expected]


# -- the layout owns keywords, stops and the forced call opening -------------------------------
CALC = {"type": "function", "function": {"name": "calculator", "parameters": {
    "type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}}}


def test_generation_stops_exactly_where_a_trained_call_segment_ends():
    fmt = get_format("react")
    assert fmt.stop == ["Observation:", "Observation："]
    msgs = [Message("user", "3*4?"), Message("assistant", None, tool_calls=[_call("calculator", "c1", expression="3*4")]),
            _tool("c1", "calculator", "12"), Message("assistant", "12")]
    trained = [s.text for t in fmt.render(msgs, [CALC]).turns for s in t.segments if s.train]
    assert trained[0] == 'Action: calculator\nAction Input: {"expression": "3*4"}\nObservation:'
    assert trained[0].endswith(fmt.stop[0]) and trained[1] == "Thought: I now know the final answer\nFinal Answer: 12"


def test_a_forced_call_opens_in_each_formats_own_syntax_and_parses_back():
    react, json_fmt, native = get_format("react"), get_format("json"), get_format("native")
    assert (react.forced_call_prefix(), react.forced_call_prefix("calculator")) == ("Action:", "Action: calculator\nAction Input:")
    assert json_fmt.forced_call_prefix() == native.forced_call_prefix() == '<tool_call>\n{"name": "'
    assert json_fmt.forced_call_prefix("calculator") == '<tool_call>\n{"name": "calculator", "arguments": '
    parsed = react.parse(react.forced_call_prefix("calculator") + ' {"expression": "1+1"}', [CALC])
    assert (parsed.kind, parsed.calls[0].name, parsed.calls[0].arguments) == ("tool_calls", "calculator", {"expression": "1+1"})
    parsed = json_fmt.parse(json_fmt.forced_call_prefix("calculator") + '{"expression": "1+1"}}\n</tool_call>', [CALC])
    assert (parsed.kind, parsed.calls[0].arguments) == ("tool_calls", {"expression": "1+1"})


def test_the_react_loss_scale_weighs_the_keywords_the_layout_writes():
    from tooltune.formats import react_layout
    from tooltune.train.dataset import LOSS_SCALES

    scale = LOSS_SCALES["react"]
    assert scale == {"Action:": (2.0, 2.0), "Action Input:": (2.0, 2.0), "Thought:": (1.0, 1.0), "Final Answer:": (1.0, 1.0),
                     "Observation:": (2.0, 0.0)}
    text = react_layout.scratchpad_text(samples("en")["multi_step"][1:], "en", react_layout.FORMAT)
    assert [k for k in scale if k not in text] == []
