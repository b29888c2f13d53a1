"""The one prompt folder and its loader (tooltune.prompts)."""

import pytest

from tooltune.data.convert import agentfabric_system
from tooltune.errors import TooltuneError
from tooltune.lang import LANGS
from tooltune.prompts import PROMPT_DIR, fill, fill_prompt, load_prompt

CALC = {"type": "function", "function": {"name": "calculator", "description": "Evaluate math.",
                                          "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}}}}


def test_every_prompt_but_agentfabric_exists_in_every_language():
    names = {p.stem.rsplit("_", 1)[0] for p in PROMPT_DIR.glob("*.txt")}
    assert names == {"react", "tool_desc", "json", "generate", "negatives", "judge", "agentfabric", "agentfabric_tool", "generate_style", "plan",
                     "plan_subtask", "plan_retry", "plan_replan", "plan_reflect", "repeat_note", "format_error", "answer_judge",
                     "tool_intro_qwen", "tool_intro_openai", "tool_intro_autogpt", "synth_system"}
    # AgentFabric's prompt is Chinese only; the answer judge's is English only (only the judge model reads it)
    for name in names - {"agentfabric", "agentfabric_tool", "answer_judge"}:
        assert [(PROMPT_DIR / f"{name}_{lang}.txt").is_file() for lang in LANGS] == [True] * len(LANGS)


def test_agentfabric_prompt_is_the_exact_text_agentfabric_writes():
    assert agentfabric_system([CALC], "Be brief.") == (
        "# 工具\n\n## 你拥有如下工具：\n\n"
        'calculator: calculator API。Evaluate math. 输入参数: {"type": "object", "properties": {"expression": {"type": "string"}}}'
        " Format the arguments as a JSON object."
        "\n\n## 当你需要调用工具时，请在你的回复中穿插如下的工具调用命令，可以根据需求调用零次或多次：\n\n工具调用\n"
        "Action: 工具的名称，必须是[calculator]之一\nAction Input: 工具的输入\nObservation: <result>工具返回的结果</result>\n"
        "Answer: 根据Observation总结本次工具调用返回的结果\n\n\n# 指令\n\nBe brief."
    )
    assert agentfabric_system([CALC], "").endswith("\n\n\n# 指令")


def test_fill_replaces_every_placeholder_of_a_shipped_prompt():
    assert fill("tool_desc", "en", name="f", description="Does f.", parameters="{}") == (
        "f: Call this tool to use the f API. What is the f API useful for? Does f. Parameters: {} "
        "Format the arguments as a JSON object.")


def test_an_override_is_a_file_or_the_text_itself(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("  Write $count questions.\n", encoding="utf-8")
    assert fill_prompt(load_prompt("generate", "en", str(path)), count=3) == "Write 3 questions."
    assert fill_prompt(load_prompt("generate", "zh", "写 $count 个问题"), count=2) == "写 2 个问题"


def test_bad_language_placeholder_or_name_is_a_one_line_error():
    with pytest.raises(TooltuneError, match=r"^unknown language 'fr': use one of en, zh$"):
        load_prompt("judge", "fr")
    with pytest.raises(TooltuneError, match=r"unknown or broken placeholder \('tool'\): use only \$tools, \$question$"):
        fill_prompt(load_prompt("judge", "en", "Judge $tool"), tools="x", question="q")
    with pytest.raises(TooltuneError, match=r"^no prompt 'nope' in en: .*nope_en.txt is missing$"):
        fill("nope", "en")


def test_the_agents_planner_and_repeat_notes_read_the_prompt_folder():
    from tooltune.agent.repeats import repeat_note
    from tooltune.messages import ToolCall

    call = ToolCall("calculator", {"expression": "1+1"}, "c1")
    assert repeat_note(call, '{"result": 2}', "zh") == (
        '你已经用完全相同的参数调用过 calculator，结果是：\n{"result": 2}\n不要重复调用：请给出最终答案，或换一个工具或参数。')
    assert repeat_note(call, "2", "fr") == repeat_note(call, "2", "en") == (
        "You already called calculator with exactly these arguments. Its result was:\n2\n"
        "Do not repeat the call: give the final answer, or try a different tool or different arguments.")
    assert fill("plan_replan", "zh", i=2, text="查天气", reason="超时", done="1. 完成") == (
        "子任务 2（查天气）失败：超时。请为任务剩下的部分写一个新的编号计划。\n已完成：\n1. 完成")


def test_the_retry_feedback_judge_intros_and_synth_systems_come_from_the_folder():
    from tooltune.data.augment import describe_tools
    from tooltune.data.synth.dialogues import SYSTEMS
    from tooltune.eval.answers import AnswerJudge
    from tooltune.formats import get_format
    from tooltune.llm import ScriptedLLM

    from tooltune.agent.loop import format_error_feedback

    assert format_error_feedback(get_format("json"), "no JSON") == "Format error: no JSON. Please follow the required format."
    assert format_error_feedback(get_format("react", "zh"), "缺少 Action") == "格式错误：缺少 Action。请按要求的格式回答。"
    prompt = AnswerJudge(ScriptedLLM([])).request("2+2?", "4", ["4", "four"]).messages[0].content
    assert prompt == ("You are grading an assistant's answer against a reference answer.\nQuestion: 2+2?\nReference answer: 4 / four\n"
                      "Assistant's answer: 4\n\nDoes the assistant's answer state the same fact or result as the reference? "
                      "Reply with exactly one word: YES or NO.")
    assert describe_tools([CALC], "qwen").startswith("# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                                                     "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n")
    assert describe_tools([CALC], "openai", "zh").startswith("你可以使用以下函数：\n[")
    assert describe_tools([CALC], "autogpt") == 'Commands:\n1. Evaluate math.: "calculator", args: "expression": "<expression>"'
    assert SYSTEMS == {"en": ["You are a helpful assistant.", "You are a concise assistant that uses tools when they help.", "Answer the user's questions."],
                       "zh": ["你是一个乐于助人的助手。", "你是一个会使用工具的智能助手。", "请回答用户的问题。"]}
