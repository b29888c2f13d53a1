"""Single-call samples whose rendering is frozen (a model is trained on exactly this text).

`tests/formats/fixtures/single_call_render.json` holds the turns the json and react formats
rendered for these samples before the ReAct layout moved into `react_layout`; the test in
test_frozen_render.py fails the moment a byte of single-call rendering moves.
"""

from tooltune.messages import Message, ToolCall
from tooltune.tools import builtin_registry

TOOLS = builtin_registry().to_openai()


def _c(name, cid, **args):
    return ToolCall(name, args, id=cid)


SAMPLES = {
    "single_step_en": [
        Message("system", "Be brief."),
        Message("user", "What is 23*47+12?"),
        Message("assistant", None, tool_calls=[_c("calculator", "c1", expression="23*47+12")], reasoning_content="I should compute it."),
        Message("tool", "1093", tool_call_id="c1", name="calculator"),
        Message("assistant", "It is 1093.", reasoning_content="I now know the final answer"),
    ],
    "multi_step_no_thought_en": [
        Message("user", "Time in Tokyo, then search it"),
        Message("assistant", None, tool_calls=[_c("current_time", "c1", timezone="Asia/Tokyo")]),
        Message("tool", "12:00", tool_call_id="c1", name="current_time"),
        Message("assistant", "", tool_calls=[_c("web_search", "c2", query="Tokyo 12:00")]),
        Message("tool", "noon", tool_call_id="c2", name="web_search"),
        Message("assistant", "It is noon."),
        Message("user", "Thanks. 2+2?"),
        Message("assistant", "4", reasoning_content="Easy."),
    ],
    "content_as_thought_zh": [
        Message("user", "北京现在几点？"),
        Message("assistant", "我需要查一下时间。", tool_calls=[_c("current_time", "c1", timezone="Asia/Shanghai")]),
        Message("tool", "2024-01-01 08:00", tool_call_id="c1", name="current_time"),
        Message("assistant", "北京现在是早上八点。"),
    ],
    "pending_call_zh": [
        Message("user", "算一下 1+1"),
        Message("assistant", None, tool_calls=[_c("calculator", "c1", expression="1+1")], reasoning_content="计算"),
    ],
    "no_tools_call_en": [Message("user", "hi"), Message("assistant", "Hello!")],
}


def render_json(fmt_name: str, lang: str, name: str) -> dict:
    from tooltune.formats import get_format

    rendered = get_format(fmt_name, lang).render(SAMPLES[name], TOOLS)
    return {
        "open_last": rendered.open_last,
        "turns": [{"role": t.role, "segments": [[s.text, s.train] for s in t.segments]} for t in rendered.turns],
    }


def all_renderings() -> dict:
    return {f"{f}/{lang}/{name}": render_json(f, lang, name) for f in ("react", "json") for lang in ("en", "zh") for name in SAMPLES}
