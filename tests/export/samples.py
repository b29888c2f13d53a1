"""Conversations in OpenAI shape that cover the json layout: tools, calls with a thought (in
`content` or in vLLM's `reasoning` field), parallel calls, runs of tool results, multi-turn, no
tools, system prompts, tool names in Chinese. Each one is rendered by the training renderer, the
exported Jinja template (test_export.py) and the ollama TEMPLATE (test_ollama_and_vllm.py)."""

CALC = {"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic <safely> & fast.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string", "description": "e.g. 2*3"}},
                       "required": ["expression"]}}}
CLOCK = {"type": "function", "function": {"name": "current_time", "description": "The time now in a city.",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": []}}}

WEATHER = {"type": "function", "function": {"name": "查询天气", "description": "查询城市天气",
           "parameters": {"type": "object", "properties": {"城市": {"type": "string"}}, "required": ["城市"]}}}


def call(i, name, args):
    return {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": args}}


SAMPLES = {
    "plain": ([{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello."}], []),
    "system_no_tools": ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], []),
    "single_call_loop": ([
        {"role": "system", "content": "You are a careful assistant."},
        {"role": "user", "content": "What is 23*47?"},
        {"role": "assistant", "content": None, "tool_calls": [call(1, "calculator", {"expression": "23*47"})]},
        {"role": "tool", "tool_call_id": "call_1", "content": "1081"},
        {"role": "assistant", "content": "23*47 = 1081."},
    ], [CALC, CLOCK]),
    "thought_parallel_multiturn": ([
        {"role": "user", "content": "Time in Paris and in 東京?"},
        {"role": "assistant", "content": "Two lookups.", "tool_calls": [
            call(1, "current_time", {"city": "Paris"}), call(2, "current_time", {"city": "東京"})]},
        {"role": "tool", "tool_call_id": "call_1", "content": "10:00"},
        {"role": "tool", "tool_call_id": "call_2", "content": "18:00"},
        {"role": "assistant", "content": "Paris 10:00, Tokyo 18:00."},
        {"role": "user", "content": "And 2+2?"},
        {"role": "assistant", "content": None, "tool_calls": [call(3, "calculator", {"expression": "2+2"})]},
        {"role": "tool", "tool_call_id": "call_3", "content": "4"},
    ], [CALC, CLOCK]),
    "reasoning_field_chinese_tool": ([
        {"role": "user", "content": "北京和上海天气？"},
        {"role": "assistant", "content": None, "reasoning": "查两个城市。", "tool_calls": [
            call(1, "查询天气", {"城市": "北京"}), call(2, "查询天气", {"城市": "上海"})]},
        {"role": "tool", "tool_call_id": "call_1", "content": "晴"},
        {"role": "tool", "tool_call_id": "call_2", "content": "雨"},
        {"role": "assistant", "content": "北京晴，上海雨。"},
    ], [WEATHER]),
}


def canonical(messages):
    from tooltune.messages import Message

    return [Message.from_openai(m) for m in messages]
