"""Completions of each native family, written from the family's documented syntax and chat
template (see each parser module's docstring), with the exact parse each must give.

(family, case id, completion, expected `Parsed.to_json()`). Shared by test_tool_parsers.py and
the per-family count it prints."""

DS_CALLS, DS_CALL, DS_SEP, DS_END, DS_CALLS_END = "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>"
K_SEC, K_CALL, K_ARG, K_END, K_SEC_END = "<|tool_calls_section_begin|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>", "<|tool_calls_section_end|>"


def calls(*pairs, content=None, reasoning=None):
    out = {"kind": "tool_calls", "calls": [{"name": n, "arguments": a} for n, a in pairs]}
    if content:
        out["content"] = content
    if reasoning:
        out["reasoning"] = reasoning
    return out


def cut_off(*what, reasoning=None):
    """A completion that ends inside its only call: reported as truncated, never run (issue 35)."""
    return {"kind": "invalid", "error": f"{what[0]} (a truncated call, not run)", "truncated": list(what),
            **({"reasoning": reasoning} if reasoning else {})}


def final(content, reasoning=None):
    return {"kind": "final", "content": content, **({"reasoning": reasoning} if reasoning else {})}


def invalid(error, reasoning=None):
    return {"kind": "invalid", "error": error, **({"reasoning": reasoning} if reasoning else {})}


W_PARIS = ("get_weather", {"city": "Paris"})
W_ROME3 = ("get_weather", {"city": "Rome", "days": 3})
CALC = ("calculator", {"expression": "2+2"})

CASES = [
    # -- hermes (Qwen2.5 / Qwen3 / Hermes) ---------------------------------------------------------
    ("hermes", "single", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>', calls(W_PARIS)),
    ("hermes", "parallel", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome", "days": 3}}\n</tool_call>', calls(W_PARIS, W_ROME3)),
    ("hermes", "qwen3_thinking", "<think>\nThe user wants Paris weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", calls(W_PARIS, reasoning="The user wants Paris weather.")),
    ("hermes", "no_call", "Paris is sunny today.<|im_end|>", final("Paris is sunny today.")),
    ("hermes", "malformed", "<tool_call>\n!!!\n</tool_call>", invalid("<tool_call> block is not valid JSON: '!!!'")),
    # -- llama3 --------------------------------------------------------------------------------------
    ("llama3", "json_parameters", '{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|>', calls(W_PARIS)),
    ("llama3", "python_tag", '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}<|eom_id|>', calls(W_PARIS)),
    ("llama3", "parallel_semicolon", '{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "get_weather", "parameters": {"city": "Rome", "days": 3}}', calls(W_PARIS, W_ROME3)),
    ("llama3", "pythonic_3_2", '[get_weather(city="Paris"), get_weather(city="Rome", days=3)]<|eot_id|>', calls(W_PARIS, W_ROME3)),
    ("llama3", "builtin_call", '<|python_tag|>web_search.call(query="Paris weather")', calls(("web_search", {"query": "Paris weather"}))),
    ("llama3", "no_call", "The weather in Paris is sunny.<|eot_id|>", final("The weather in Paris is sunny.")),
    ("llama3", "truncated", '{"name": "get_weather", "parameters": {"city": "Par', cut_off("get_weather: cut off before the end of its JSON")),
    ("llama3", "reasoning_wrapped", '<think>Need weather.</think>{"name": "get_weather", "parameters": {"city": "Paris"}}', calls(W_PARIS, reasoning="Need weather.")),
    # -- mistral -------------------------------------------------------------------------------------
    ("mistral", "v3_array", '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "abcdefghi"}]</s>', calls(W_PARIS)),
    ("mistral", "v3_parallel", '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "abcdefghi"}, {"name": "get_weather", "arguments": {"city": "Rome", "days": 3}, "id": "bcdefghij"}]</s>', calls(W_PARIS, W_ROME3)),
    ("mistral", "v11_args", '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}</s>', calls(W_PARIS)),
    ("mistral", "v11_parallel", '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]get_weather[ARGS]{"city": "Rome", "days": 3}</s>', calls(W_PARIS, W_ROME3)),
    ("mistral", "v13_call_id", '[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{"city": "Paris"}', calls(W_PARIS)),
    ("mistral", "text_before", 'Let me check.[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}', calls(W_PARIS, content="Let me check.")),
    ("mistral", "magistral_think", '[THINK]Weather lookup.[/THINK][TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}', calls(W_PARIS, reasoning="Weather lookup.")),
    ("mistral", "no_call", "It is sunny in Paris.</s>", final("It is sunny in Paris.")),
    ("mistral", "truncated", '[TOOL_CALLS]get_weather[ARGS]{"city": "Pa', cut_off("get_weather: cut off before the end of its JSON")),
    # -- qwen3-xml (Qwen3-Coder) ---------------------------------------------------------------------
    ("qwen3-xml", "single", "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>", calls(W_PARIS)),
    ("qwen3-xml", "typed_parallel", "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=get_weather>\n<parameter=city>\nRome\n</parameter>\n<parameter=days>\n3\n</parameter>\n</function>\n</tool_call>", calls(W_PARIS, W_ROME3)),
    ("qwen3-xml", "multiline_string", "<tool_call>\n<function=web_search>\n<parameter=query>\nline one\nline two\n</parameter>\n<parameter=top_k>\n5\n</parameter>\n</function>\n</tool_call>", calls(("web_search", {"query": "line one\nline two", "top_k": 5}))),
    ("qwen3-xml", "text_before", "I will look it up.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>", calls(W_PARIS, content="I will look it up.")),
    ("qwen3-xml", "no_wrapper", "<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>", calls(W_PARIS)),
    ("qwen3-xml", "truncated", "<tool_call>\n<function=get_weather>\n<parameter=city>\nPar", cut_off("get_weather: cut off before </function>")),
    ("qwen3-xml", "no_call", "Paris is sunny.", final("Paris is sunny.")),
    # -- deepseek --------------------------------------------------------------------------------------
    ("deepseek", "v3_fenced", f'{DS_CALLS}{DS_CALL}function{DS_SEP}get_weather\n```json\n{{"city": "Paris"}}\n```{DS_END}{DS_CALLS_END}<｜end▁of▁sentence｜>', calls(W_PARIS)),
    ("deepseek", "v3_parallel", f'{DS_CALLS}{DS_CALL}function{DS_SEP}get_weather\n```json\n{{"city": "Paris"}}\n```{DS_END}\n{DS_CALL}function{DS_SEP}get_weather\n```json\n{{"city": "Rome", "days": 3}}\n```{DS_END}{DS_CALLS_END}', calls(W_PARIS, W_ROME3)),
    ("deepseek", "v3_1_plain", f'{DS_CALLS}{DS_CALL}get_weather{DS_SEP}{{"city": "Paris"}}{DS_END}{DS_CALLS_END}', calls(W_PARIS)),
    ("deepseek", "r1_think", f'<think>\nI need the weather.\n</think>\n\n{DS_CALLS}{DS_CALL}function{DS_SEP}get_weather\n```json\n{{"city": "Paris"}}\n```{DS_END}{DS_CALLS_END}', calls(W_PARIS, reasoning="I need the weather.")),
    ("deepseek", "text_before", f'Let me check.{DS_CALLS}{DS_CALL}get_weather{DS_SEP}{{"city": "Paris"}}{DS_END}{DS_CALLS_END}', calls(W_PARIS, content="Let me check.")),
    ("deepseek", "truncated", f'{DS_CALLS}{DS_CALL}get_weather{DS_SEP}{{"city": "Pa', cut_off("get_weather: cut off before <｜tool▁call▁end｜>")),
    ("deepseek", "no_call", "Paris is sunny.<｜end▁of▁sentence｜>", final("Paris is sunny.")),
    # -- glm -------------------------------------------------------------------------------------------
    ("glm", "single", "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>", calls(W_PARIS)),
    ("glm", "typed_parallel", "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Rome</arg_value>\n<arg_key>days</arg_key>\n<arg_value>3</arg_value>\n</tool_call>", calls(W_PARIS, W_ROME3)),
    ("glm", "glm47_no_newline", "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>", calls(W_PARIS)),
    ("glm", "thinking", "<think>Weather question.</think>\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>", calls(W_PARIS, reasoning="Weather question.")),
    ("glm", "glm4_json", '<tool_call>get_weather\n{"city": "Paris"}\n</tool_call>', calls(W_PARIS)),
    ("glm", "truncated", "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Pa", cut_off("get_weather: the <tool_call> block is cut off before </tool_call>")),
    ("glm", "no_call", "Paris is sunny.<|user|>", final("Paris is sunny.")),
    # -- kimi ------------------------------------------------------------------------------------------
    ("kimi", "single", f'{K_SEC}{K_CALL}functions.get_weather:0{K_ARG}{{"city": "Paris"}}{K_END}{K_SEC_END}', calls(W_PARIS)),
    ("kimi", "parallel", f'{K_SEC}{K_CALL}functions.get_weather:0{K_ARG}{{"city": "Paris"}}{K_END}{K_CALL}functions.get_weather:1{K_ARG}{{"city": "Rome", "days": 3}}{K_END}{K_SEC_END}', calls(W_PARIS, W_ROME3)),
    ("kimi", "text_before", f'Checking.{K_SEC}{K_CALL}functions.get_weather:0{K_ARG}{{"city": "Paris"}}{K_END}{K_SEC_END}', calls(W_PARIS, content="Checking.")),
    ("kimi", "singular_section", f'<|tool_call_section_begin|>{K_CALL}functions.get_weather:0{K_ARG}{{"city": "Paris"}}{K_END}<|tool_call_section_end|>', calls(W_PARIS)),
    ("kimi", "thinking", f'<think>Look it up.</think>{K_SEC}{K_CALL}functions.get_weather:0{K_ARG}{{"city": "Paris"}}{K_END}{K_SEC_END}', calls(W_PARIS, reasoning="Look it up.")),
    ("kimi", "truncated", f'{K_SEC}{K_CALL}functions.get_weather:0{K_ARG}{{"city": "Pa', cut_off("get_weather: cut off before <|tool_call_end|>")),
    ("kimi", "no_call", "Paris is sunny.<|im_end|>", final("Paris is sunny.")),
    # -- gpt-oss (harmony) -----------------------------------------------------------------------------
    ("gpt-oss", "call_with_analysis", '<|channel|>analysis<|message|>Need weather for Paris.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>', calls(W_PARIS, reasoning="Need weather for Paris.")),
    ("gpt-oss", "recipient_first", '<|channel|>analysis<|message|>Use the tool.<|end|><|start|>assistant to=functions.get_weather<|channel|>commentary json<|message|>{"city": "Paris"}<|call|>', calls(W_PARIS, reasoning="Use the tool.")),
    ("gpt-oss", "no_call_token", '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}', calls(W_PARIS)),
    ("gpt-oss", "final", "<|channel|>analysis<|message|>Simple.<|end|><|start|>assistant<|channel|>final<|message|>It is sunny in Paris.<|return|>", final("It is sunny in Paris.", reasoning="Simple.")),
    ("gpt-oss", "preamble_and_call", '<|channel|>commentary<|message|>Checking the weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>', calls(W_PARIS, content="Checking the weather.")),
    ("gpt-oss", "cut_in_analysis", "<|channel|>analysis<|message|>The user wants", invalid("the completion ended inside its analysis channel: a truncated step", reasoning="The user wants")),
    ("gpt-oss", "cut_in_args", '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Pa', cut_off("get_weather: cut off before the end of its arguments")),
    # -- gemma -----------------------------------------------------------------------------------------
    ("gemma", "functiongemma", "<start_function_call>call:get_weather{city:<escape>Paris<escape>}<end_function_call>", calls(W_PARIS)),
    ("gemma", "functiongemma_parallel_typed", "<start_function_call>call:get_weather{city:<escape>Paris<escape>}<end_function_call><start_function_call>call:get_weather{city:<escape>Rome<escape>,days:3}<end_function_call>", calls(W_PARIS, W_ROME3)),
    ("gemma", "escape_protects_punctuation", "<start_function_call>call:web_search{query:<escape>a, b: {c}<escape>}<end_function_call>", calls(("web_search", {"query": "a, b: {c}"}))),
    ("gemma", "tool_code", '```tool_code\nget_weather(city="Paris")\n```', calls(W_PARIS)),
    ("gemma", "truncated", "<start_function_call>call:get_weather{city:<escape>Par", cut_off("get_weather: cut off before <end_function_call>")),
    ("gemma", "no_call", "It is sunny in Paris.<end_of_turn>", final("It is sunny in Paris.")),
]
