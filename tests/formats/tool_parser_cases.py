"""Completions of each native family, written from the family's documented syntax and chat
template (see each parser module's docstring), with the exact parse each must give.

(family, case id, completion, expected `Parsed.to_json()`). Shared by test_tool_parsers.py and
the per-family count it prints."""

DS_CALLS, DS_CALL, DS_SEP, DS_END, DS_CALLS_END = "<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>", "<｜tool▁sep｜>", "<｜tool▁call▁end｜>", "<｜tool▁calls▁end｜>"
K_SEC, K_CALL, K_ARG, K_END, K_SEC_END = "<|tool_calls_section_begin|>", "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>", "<|tool_calls_section_end|>"


def calls(*pairs, content=None, reasoning=None, truncated=None):
    out = {"kind": "tool_calls", "calls": [{"name": n, "arguments": a} for n, a in pairs]}
    if content:
        out["content"] = content
    if truncated:
        out["truncated"] = truncated
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

# -- issue 31: the newest generations' syntaxes, written from vLLM's and SGLang's parser tests and
# the models' chat templates (shapes only: the tools are this suite's own) ---------------------------
DSF, DSF_END, INV_END = "<｜DSML｜function_calls>", "</｜DSML｜function_calls>", "</｜DSML｜invoke>"


def inv(name, *params):
    return f'<｜DSML｜invoke name="{name}">\n' + "".join(params) + f"{INV_END}\n"


def par(key, value, string="true"):
    return f'<｜DSML｜parameter name="{key}" string="{string}">{value}</｜DSML｜parameter>\n'


def dsml(*invokes, start=DSF, end=DSF_END):
    return f"{start}\n" + "".join(invokes) + end


G_CALL, G_END, Q = "<|tool_call>", "<tool_call|>", '<|"|>'
K3_TOOLS, K3_TOOLS_END = "<|open|>tools<|sep|>", "<|close|>tools<|sep|>"


def k3_call(name, index, *args):
    return f'<|open|>call tool="{name}" index="{index}"<|sep|>' + "".join(args) + "<|close|>call<|sep|>"


def k3_arg(key, value, kind="string"):
    return f'<|open|>argument key="{key}" type="{kind}"<|sep|>{value}<|close|>argument<|sep|>'


TYPED = {"city": "Paris", "days": 3, "hourly": True, "unit": None, "opts": {"metric": True, "label": "a"}, "hours": [6, 12]}
NEW_CASES = [
    # -- deepseek V3.2 / V4 DSML ---------------------------------------------------------------------
    ("deepseek", "dsml_single", dsml(inv("get_weather", par("city", "Paris"))), calls(W_PARIS)),
    ("deepseek", "dsml_parallel_typed", dsml(inv("get_weather", par("city", "Paris")), inv("get_weather", par("city", "Rome"), par("days", "3", "false"))), calls(W_PARIS, W_ROME3)),
    ("deepseek", "dsml_v4_tool_calls", dsml(inv("get_weather", par("city", "Paris")), start="<｜DSML｜tool_calls>", end="</｜DSML｜tool_calls>"), calls(W_PARIS)),
    ("deepseek", "dsml_spaced_calls", dsml(inv("get_weather", par("city", "Paris")), start="<｜DSML｜ calls>", end="</｜DSML｜ calls>"), calls(W_PARIS)),
    ("deepseek", "dsml_after_think_and_text", "The user wants the weather.</think>Let me check.\n\n" + dsml(inv("get_weather", par("city", "Paris"))),
     calls(W_PARIS, content="Let me check.", reasoning="The user wants the weather.")),
    ("deepseek", "dsml_empty_invoke", dsml(inv("list_files")), calls(("list_files", {}))),
    ("deepseek", "dsml_json_values", dsml(inv("get_weather", par("city", "Paris"), par("days", "3", "false"), par("hourly", "true", "false"), par("unit", "null", "false"),
                                                par("opts", '{"metric": true, "label": "a"}', "false"), par("hours", "[6, 12]", "false"))), calls(("get_weather", TYPED))),
    ("deepseek", "dsml_string_true_typed_by_schema", dsml(inv("get_weather", par("city", "Rome"), par("days", "3"))), calls(W_ROME3)),
    ("deepseek", "dsml_arguments_wrapper", dsml(inv("get_weather", par("arguments", '{"city": "Paris"}', "false"))), calls(W_PARIS)),
    ("deepseek", "dsml_ascii_bars", dsml(inv("get_weather", par("city", "Paris"))).replace("｜", "|"), calls(W_PARIS)),
    ("deepseek", "dsml_value_holds_markers", dsml(inv("web_search", par("query", f"a {INV_END}{DSF_END} <think>"))), calls(("web_search", {"query": f"a {INV_END}{DSF_END} <think>"}))),
    ("deepseek", "dsml_cut_in_invoke", DSF + "\n" + '<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="city" string="true">Par',
     cut_off("get_weather: cut off before </｜DSML｜invoke>")),
    ("deepseek", "dsml_cut_in_second_invoke", DSF + "\n" + inv("get_weather", par("city", "Paris")) + '<｜DSML｜invoke name="get_weather">\n<｜DSML｜param',
     calls(W_PARIS, truncated=["get_weather: cut off before </｜DSML｜invoke>"])),
    ("deepseek", "dsml_block_not_closed", DSF + "\n" + inv("get_weather", par("city", "Paris")),
     calls(W_PARIS, truncated=["the DSML block is cut off before its closing tag"])),
    ("deepseek", "dsml_thinking_answer", "Simple question.</think>Paris is sunny.<｜end▁of▁sentence｜>", final("Paris is sunny.", reasoning="Simple question.")),
    # -- gemma 4 ---------------------------------------------------------------------------------------
    ("gemma", "gemma4_single", f"{G_CALL}call:get_weather{{city:{Q}Paris{Q}}}{G_END}", calls(W_PARIS)),
    ("gemma", "gemma4_parallel_typed", f"{G_CALL}call:get_weather{{city:{Q}Paris{Q}}}{G_END}{G_CALL}call:get_weather{{city:{Q}Rome{Q},days:3}}{G_END}", calls(W_PARIS, W_ROME3)),
    ("gemma", "gemma4_typed_values", f"{G_CALL}call:get_weather{{city:{Q}Paris{Q},days:3,hourly:true,unit:null,opts:{{metric:true,label:{Q}a{Q}}},hours:[6,12]}}{G_END}",
     calls(("get_weather", TYPED))),
    ("gemma", "gemma4_thought_then_call", f"<|channel>thought\nThe user wants the weather.<channel|>{G_CALL}call:get_weather{{city:{Q}Paris{Q}}}{G_END}<|tool_response>",
     calls(W_PARIS, reasoning="The user wants the weather.")),
    ("gemma", "gemma4_thought_then_answer", "<|channel>thought\nEasy.<channel|>It is sunny in Paris.<turn|>", final("It is sunny in Paris.", reasoning="Easy.")),
    ("gemma", "gemma4_text_before", f"Let me check. {G_CALL}call:get_weather{{city:{Q}Paris{Q}}}{G_END}", calls(W_PARIS, content="Let me check.")),
    ("gemma", "gemma4_turn_closes_the_call", f"{G_CALL}call:get_weather{{city:{Q}Paris{Q}}}<turn|>", calls(W_PARIS)),
    ("gemma", "gemma4_quoted_key_and_markers_in_string", f"{G_CALL}call:web_search{{{Q}query{Q}:{Q}a, b: {{c}} {G_END}{G_CALL}{Q}}}{G_END}",
     calls(("web_search", {"query": f"a, b: {{c}} {G_END}{G_CALL}"}))),
    ("gemma", "gemma4_no_arguments", f"{G_CALL}call:list_files{{}}{G_END}", calls(("list_files", {}))),
    ("gemma", "gemma4_truncated", f"{G_CALL}call:get_weather{{city:{Q}Par", cut_off("get_weather: cut off before <tool_call|>")),
    ("gemma", "gemma4_colon_prefixed", f"{G_CALL}:call:get_weather{{city:{Q}Paris{Q}}}{G_END}", calls(W_PARIS)),
    ("gemma", "gemma4_bare_call_after_thought", f"<|channel>thought\nRead it.<channel|>call:get_weather{{city:{Q}Paris{Q}}}", calls(W_PARIS, reasoning="Read it.")),
    ("gemma", "gemma4_bare_call_cut", f"call:get_weather{{city:{Q}Par", cut_off("get_weather: cut off before its arguments close")),
    ("gemma", "gemma4_bare_call_of_no_tool_is_text", "To do it, write call:teleport{to:Mars} in the shell.", final("To do it, write call:teleport{to:Mars} in the shell.")),
    ("gemma", "gemma4_cut_in_thought", "<|channel>thought\nThe user", invalid("the completion ended inside its <think> reasoning (no </think>): a truncated step", reasoning="The user")),
    # -- kimi K3 (XTML) and K2 gaps ------------------------------------------------------------------
    ("kimi", "k3_single", K3_TOOLS + k3_call("get_weather", 1, k3_arg("city", "Paris")) + K3_TOOLS_END, calls(W_PARIS)),
    ("kimi", "k3_parallel_typed", K3_TOOLS + k3_call("get_weather", 1, k3_arg("city", "Paris")) + k3_call("get_weather", 2, k3_arg("city", "Rome"), k3_arg("days", "3", "number")) + K3_TOOLS_END,
     calls(W_PARIS, W_ROME3)),
    ("kimi", "k3_response_then_tools", "Let me check.<|close|>response<|sep|>" + K3_TOOLS + k3_call("get_weather", 1, k3_arg("city", "Paris")) + K3_TOOLS_END + "<|close|>message<|sep|>",
     calls(W_PARIS, content="Let me check.")),
    ("kimi", "k3_think_then_call", "<|open|>think<|sep|>Need the weather.<|close|>think<|sep|>" + K3_TOOLS + k3_call("get_weather", 1, k3_arg("city", "Paris")) + K3_TOOLS_END,
     calls(W_PARIS, reasoning="Need the weather.")),
    ("kimi", "k3_answer_after_prefilled_think", "Simple.<|close|>think<|sep|><|open|>response<|sep|>It is sunny.<|close|>response<|sep|><|close|>message<|sep|>",
     final("It is sunny.", reasoning="Simple.")),
    ("kimi", "k3_typed_json", K3_TOOLS + k3_call("get_weather", 1, k3_arg("city", "Paris"), k3_arg("days", "3", "integer"), k3_arg("hourly", "true", "boolean"), k3_arg("unit", "null", "null"),
                                                 k3_arg("opts", '{"metric": true, "label": "a"}', "object"), k3_arg("hours", "[6, 12]", "array")) + K3_TOOLS_END, calls(("get_weather", TYPED))),
    ("kimi", "k3_raw_string_holds_markers", K3_TOOLS + '<|open|>call tool="web_search" index="1"<|sep|><|open|>argument key="query" type="string"<|sep|>say "hi" &amp; <|close|>call<|sep|> now<|close|>argument<|sep|><|close|>call<|sep|>' + K3_TOOLS_END,
     calls(("web_search", {"query": 'say "hi" &amp; <|close|>call<|sep|> now'}))),
    ("kimi", "k3_cut_in_call", K3_TOOLS + '<|open|>call tool="get_weather" index="1"<|sep|><|open|>argument key="city" type="string"<|sep|>Par',
     cut_off("get_weather: cut off before <|close|>call<|sep|>")),
    ("kimi", "k3_tools_not_closed", K3_TOOLS + k3_call("get_weather", 1, k3_arg("city", "Paris")),
     calls(W_PARIS, truncated=["the tools channel is cut off before <|close|>tools<|sep|>"])),
    ("kimi", "k2_empty_section_is_no_call", f"Paris is sunny.{K_SEC}{K_SEC_END}", final("Paris is sunny.")),
    ("kimi", "k2_thinking_empty_section", f"<think>No tool needed.</think>It is sunny.{K_SEC}{K_SEC_END}<|im_end|>", final("It is sunny.", reasoning="No tool needed.")),
    ("kimi", "k2_cut_after_a_call", f'{K_SEC}{K_CALL}functions.get_weather:0{K_ARG}{{"city": "Paris"}}{K_END}{K_CALL}functions.get_weather:1{K_ARG}{{"city": "Ro',
     calls(W_PARIS, truncated=["get_weather: cut off before <|tool_call_end|>"])),
    # -- smaller gaps in the other families ----------------------------------------------------------
    ("hermes", "text_before_is_content", 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>', calls(W_PARIS, content="Let me check.")),
    ("hermes", "list_in_one_block", '<tool_call>\n[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Rome", "days": 3}}]\n</tool_call>', calls(W_PARIS, W_ROME3)),
    ("hermes", "cut_after_a_call", '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Ro',
     calls(W_PARIS, truncated=["get_weather: the <tool_call> block is cut off before </tool_call>"])),
    ("llama3", "type_function_key", '{"type": "function", "name": "get_weather", "parameters": {"city": "Paris"}}', calls(W_PARIS)),
    ("llama3", "llama4_python_start", '<|python_start|>[get_weather(city="Paris"), get_weather(city="Rome", days=3)]<|python_end|><|eot|>', calls(W_PARIS, W_ROME3)),
    ("llama3", "cut_in_second_json", '{"name": "get_weather", "parameters": {"city": "Paris"}}; {"name": "get_weather", "parameters": {"city": "Ro',
     calls(W_PARIS, truncated=["get_weather: cut off before the end of its JSON"])),
    ("llama3", "cut_in_python_list", '[get_weather(city="Paris"), get_weather(city="Ro', calls(W_PARIS, truncated=["get_weather: cut off before the end of its Python call"])),
    ("mistral", "v3_single_object", '[TOOL_CALLS]{"name": "get_weather", "arguments": {"city": "Paris"}}</s>', calls(W_PARIS)),
    ("mistral", "v11_cut_in_second", '[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}[TOOL_CALLS]get_weather[ARGS]{"city": "Ro',
     calls(W_PARIS, truncated=["get_weather: cut off before the end of its JSON"])),
    ("mistral", "name_then_json_without_args_token", '[TOOL_CALLS]get_weather{"city": "Paris"}</s>', calls(W_PARIS)),
    ("mistral", "v11_cut_before_args", "[TOOL_CALLS]get_wea", cut_off("cut off inside `name[ARGS]`")),
    ("qwen3-xml", "missing_parameter_close", "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</function>\n</tool_call>", calls(W_PARIS)),
    ("qwen3-xml", "no_parameters", "<tool_call>\n<function=list_files>\n</function>\n</tool_call>", calls(("list_files", {}))),
    ("qwen3-xml", "json_parameter_values", "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=opts>\n{\"metric\": true}\n</parameter>\n</function>\n</tool_call>",
     calls(("get_weather", {"city": "Paris", "opts": {"metric": True}}))),
    ("qwen3-xml", "wrapper_not_closed", "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n", cut_off("get_weather: cut off before </tool_call>")),
    ("glm", "no_arguments", "<tool_call>list_files</tool_call>", calls(("list_files", {}))),
    ("glm", "text_before_is_content", "Checking.<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call>", calls(W_PARIS, content="Checking.")),
    ("glm", "cut_after_a_call", "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Paris</arg_value></tool_call><tool_call>get_weather<arg_key>city</arg_key><arg_value>Ro",
     calls(W_PARIS, truncated=["get_weather: the <tool_call> block is cut off before </tool_call>"])),
    ("gpt-oss", "recipient_without_namespace", '<|channel|>commentary to=get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>', calls(W_PARIS)),
    ("gpt-oss", "two_calls", '<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city": "Rome", "days": 3}<|call|>',
     calls(W_PARIS, W_ROME3)),
    ("gpt-oss", "cut_in_header", "<|channel|>analysis<|message|>Weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constr",
     cut_off("get_weather: cut off before the end of its arguments", reasoning="Weather.")),
]
CASES += NEW_CASES

