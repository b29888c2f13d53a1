"""Converters between the canonical sample and the dataset formats found in the wild.

Every reader returns a canonical `Sample`; every writer takes one. Readers are tolerant of the
variants real files use, and deterministic (call ids are numbered per sample), so
import -> export -> import gives the same canonical sample.

- openai:      {"messages": [...], "tools": [...]}  (the canonical form itself)
- sharegpt:    {"conversations": [{"from", "value"}], "tools": "<json>", "system": ...}, with
               `function_call` / `observation` turns (LLaMA-Factory, glaive); tools may also sit
               as JSON inside the system prompt (glaive-function-calling)
- ms_agent:    ShareGPT turns whose system prompt holds ReAct tool descriptions and whose
               assistant turns are whole ReAct scratchpads (export name: `react`)
- agentfabric: the same, with ModelScope AgentFabric's Chinese `# 工具` system prompt,
               `Observation: <result>…</result>` and `Answer:`
- alpaca:      {"system", "instruction", "input", "output", "history"} with ReAct text
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from tooltune.data.react_text import CallCounter, parse_scratchpad, render_scratchpad
from tooltune.errors import TooltuneError
from tooltune.formats.parsing import loads_lenient
from tooltune.formats.react import ReActFormat
from tooltune.lang import dialogue_lang
from tooltune.messages import Message, Sample, ToolCall
from tooltune.prompts import fill
from tooltune.toolspec import function_of, has_name, make_spec, tool_description, tool_name, tool_names, tool_parameters

_USER = {"human", "user"}
_ASSISTANT = {"gpt", "assistant", "model", "chatgpt", "bot"}
_TOOL = {"observation", "function", "tool", "function_response", "tool_response"}
_CALL = {"function_call", "tool_call", "tool_calls"}
_ACTION_INPUT = re.compile(r"^\s*Action\s*Input\s*[:：]", re.M)


# -- helpers ----------------------------------------------------------------------------------
def wrap_tool(spec: dict[str, Any]) -> dict[str, Any]:
    """Any tool dict (OpenAI-wrapped or bare function) -> the OpenAI {"type": "function", ...} form."""
    if not has_name(spec):
        raise TooltuneError(f"tool without a name: {json.dumps(spec, ensure_ascii=False)[:80]}")
    return make_spec(tool_name(spec), tool_description(spec), tool_parameters(spec))


def parse_tools(value: Any) -> list[dict[str, Any]]:
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, dict):
        value = [value]
    return [wrap_tool(t) for t in value]


def _json_objects(text: str) -> list[Any]:
    """Every top-level JSON value in `text` (glaive puts tool specs one after another)."""
    decoder, found, i = json.JSONDecoder(), [], 0
    while (i := _next_brace(text, i)) != -1:
        try:
            value, end = decoder.raw_decode(text, i)
            found.append(value)
            i = end
        except json.JSONDecodeError:
            i += 1
    return found


def _next_brace(text: str, start: int) -> int:
    hits = [p for p in (text.find("{", start), text.find("[", start)) if p != -1]
    return min(hits) if hits else -1


# -- openai -----------------------------------------------------------------------------------
def from_openai(obj: dict[str, Any]) -> Sample:
    sample = Sample.from_openai(obj)
    sample.tools = [wrap_tool(t) for t in sample.tools]
    return sample


def to_openai(sample: Sample) -> dict[str, Any]:
    return sample.to_openai()


# -- sharegpt / glaive ------------------------------------------------------------------------
def _turns(obj: dict[str, Any]) -> list[tuple[str, str]]:
    turns = obj.get("conversations") or obj.get("conversation") or obj.get("messages")
    if not isinstance(turns, list):
        raise TooltuneError("no 'conversations' list of {from, value} turns")
    out = []
    for t in turns:
        role = t.get("from", t.get("role"))
        value = t.get("value", t.get("content"))
        if role is None or value is None:
            raise TooltuneError(f"turn without from/value: {json.dumps(t, ensure_ascii=False)[:80]}")
        out.append((str(role).lower(), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)))
    return out


def _decode_calls(value: str, ids: CallCounter) -> list[ToolCall]:
    value = value.strip().removeprefix("<functioncall>").removesuffix("<|endoftext|>").strip()
    data = loads_lenient(value)
    items = data if isinstance(data, list) else [data]
    calls = []
    for item in items:
        if not isinstance(item, dict) or "name" not in item:
            raise TooltuneError(f"function_call is not {{\"name\", \"arguments\"}}: {value[:80]}")
        args = item.get("arguments", item.get("parameters", {}))
        if isinstance(args, str):
            args = loads_lenient(args) if args.strip() else {}
        calls.append(ToolCall(item["name"], args or {}, ids.next()))
    return calls


def from_sharegpt(obj: dict[str, Any]) -> Sample:
    tools = parse_tools(obj.get("tools"))
    messages: list[Message] = []
    system = obj.get("system")
    ids = CallCounter()
    pending: list[ToolCall] = []
    for role, value in _turns(obj):
        if role == "system":
            system = value
        elif role in _USER:
            messages.append(Message("user", value))
        elif role in _ASSISTANT:
            messages.append(Message("assistant", value))
        elif role in _CALL:
            pending = _decode_calls(value, ids)
            messages.append(Message("assistant", None, tool_calls=pending))
        elif role in _TOOL:
            messages.extend(_observations(value, pending))
            pending = []
        else:
            raise TooltuneError(f"unknown turn role {role!r}: expected human/gpt/system/function_call/observation")
    if system and not tools and ("function" in system or "tool" in system.lower()):
        found = [o for o in _json_objects(system) for o in (o if isinstance(o, list) else [o]) if isinstance(o, dict) and "name" in o]
        if found:
            tools, system = [wrap_tool(t) for t in found], None  # the system prompt only carried the tools
    if system:
        messages.insert(0, Message("system", system))
    return Sample(messages, tools)


def _observations(value: str, calls: list[ToolCall]) -> list[Message]:
    if not calls:
        return [Message("tool", value, name=None)]
    if len(calls) > 1:
        try:
            parts = json.loads(value)
        except json.JSONDecodeError:
            parts = None
        if isinstance(parts, list) and len(parts) == len(calls):
            return [Message("tool", p if isinstance(p, str) else json.dumps(p, ensure_ascii=False), tool_call_id=c.id, name=c.name)
                    for c, p in zip(calls, parts)]
    return [Message("tool", value, tool_call_id=calls[0].id, name=calls[0].name)]


def to_sharegpt(sample: Sample) -> dict[str, Any]:
    turns: list[dict[str, str]] = []
    system = "\n\n".join(m.text for m in sample.messages if m.role == "system")
    results: list[str] = []

    def flush_results() -> None:
        if results:
            turns.append({"from": "observation", "value": results[0] if len(results) == 1 else json.dumps(results, ensure_ascii=False)})
            results.clear()

    for m in sample.messages:
        if m.role == "tool":
            results.append(m.text)
            continue
        flush_results()
        if m.role == "user":
            turns.append({"from": "human", "value": m.text})
        elif m.role == "assistant" and m.tool_calls:
            calls = [{"name": c.name, "arguments": c.arguments} for c in m.tool_calls]
            turns.append({"from": "function_call", "value": json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)})
        elif m.role == "assistant":
            turns.append({"from": "gpt", "value": m.text})
    flush_results()
    out: dict[str, Any] = {"conversations": turns, "tools": json.dumps([function_of(t) for t in sample.tools], ensure_ascii=False)}
    if system:
        out["system"] = system
    return out


# -- ReAct text in the system prompt: ms_agent, agentfabric, alpaca ---------------------------
_INTROS = ("Answer the following questions as", "尽你所能回答", "# 工具")
_DESC = re.compile(r"^\s*(?:\d+[.)、]\s*)?([\w.\-]+)\s*[:：]\s*(.+?)\s*(?:Parameters|参数|输入参数)\s*[:：]\s*([\[{].*)$", re.M)
_BOILER = re.compile(
    r"^(?:Call this tool to (?:use|interact with) the [\w.\-]+ API\.?\s*(?:What is the [\w.\-]+ API useful for\?)?"
    r"|调用此工具来使用 ?[\w.\-]+ ?API。?\s*(?:[\w.\-]+ ?API ?有什么用？)?|[\w.\-]+ ?API[。.]?)\s*")


def tools_from_system(system: str) -> tuple[str | None, list[dict[str, Any]]]:
    """(the user's own system text, the tools described in a ReAct/AgentFabric system prompt)."""
    tools = []
    for m in _DESC.finditer(system):
        try:
            params, _ = json.JSONDecoder().raw_decode(m.group(3))
        except json.JSONDecodeError:
            continue
        if isinstance(params, list):  # ms_agent: [{"name", "description", "required"}]
            params = {"type": "object",
                      "properties": {p["name"]: {"type": p.get("type", "string"), "description": p.get("description", "")} for p in params if isinstance(p, dict) and "name" in p},
                      "required": [p["name"] for p in params if isinstance(p, dict) and str(p.get("required", "")).lower() == "true"]}
        tools.append(wrap_tool({"name": m.group(1), "description": _BOILER.sub("", m.group(2)).strip(), "parameters": params}))
    user_system = system
    if "# 指令" in system:  # AgentFabric: the user's instructions follow the tool block
        user_system = system.split("# 指令", 1)[1]
        user_system = re.sub(r"\n*\(。你可以使用工具：\[.*?\]\)\s*$", "", user_system)
    else:
        cut = min((system.find(i) for i in _INTROS if i in system), default=-1)
        if cut != -1:
            user_system = system[:cut]
    return user_system.strip() or None, tools


def _react_messages(system: str | None, pairs: list[tuple[str, str]]) -> Sample:
    user_system, tools = tools_from_system(system or "")
    messages = [Message("system", user_system)] if user_system else []
    ids = CallCounter()
    for question, answer in pairs:
        messages.append(Message("user", question))
        if answer:
            messages.extend(parse_scratchpad(answer, tools, ids))
    return Sample(messages, tools)


def from_react_conversation(obj: dict[str, Any]) -> Sample:
    """ms_agent and AgentFabric records: the system prompt carries the tools."""
    system, pairs = obj.get("system"), []
    for role, value in _turns(obj):
        if role == "system":
            system = value
        elif role in _USER:
            pairs.append((value, ""))
        elif role in _ASSISTANT:
            if not pairs:
                raise TooltuneError("an assistant turn before any user turn")
            q, a = pairs[-1]
            pairs[-1] = (q, a + ("\n" if a else "") + value)
        else:
            raise TooltuneError(f"unexpected turn role {role!r} in a ReAct conversation (expected system/user/assistant)")
    return _react_messages(system, pairs)


def _dialogue(sample: Sample) -> tuple[str, list[tuple[str, list[Message]]]]:
    system = "\n\n".join(m.text for m in sample.messages if m.role == "system")
    pairs: list[tuple[str, list[Message]]] = []
    for m in sample.messages:
        if m.role == "user":
            pairs.append((m.text, []))
        elif m.role != "system":
            if not pairs:
                raise TooltuneError("an assistant/tool message before any user message")
            pairs[-1][1].append(m)
    return system, pairs


def react_system(sample: Sample, user_system: str) -> str:
    instructions = ReActFormat(lang=dialogue_lang(sample.messages)).system_prompt(sample.tools) if sample.tools else ""
    return "\n\n".join(filter(None, [user_system, instructions]))


def to_ms_agent(sample: Sample) -> dict[str, Any]:
    system, pairs = _dialogue(sample)
    prompt = react_system(sample, system)
    turns = [{"from": "system", "value": prompt}] if prompt else []
    for question, msgs in pairs:
        turns += [{"from": "user", "value": question}, {"from": "assistant", "value": render_scratchpad(msgs)}]
    return {"conversations": turns}


def agentfabric_system(tools: list[dict[str, Any]], user_system: str) -> str:
    """AgentFabric's Chinese system prompt (tooltune/prompts/agentfabric_zh.txt) around the
    user's own instructions: AgentFabric writes it in Chinese whatever the dialogue's language."""
    lines = []
    for t in tools:
        params = json.dumps(tool_parameters(t), ensure_ascii=False)
        lines.append(fill("agentfabric_tool", "zh", name=tool_name(t), description=tool_description(t), parameters=params))
    names = ",".join(tool_names(tools))
    return fill("agentfabric", "zh", tool_descs="\n\n".join(lines), tool_names=names, instructions=user_system).rstrip()


def to_agentfabric(sample: Sample) -> dict[str, Any]:
    system, pairs = _dialogue(sample)
    turns = [{"from": "system", "value": agentfabric_system(sample.tools, system)}]
    for question, msgs in pairs:
        text = render_scratchpad(msgs, final_keyword="Answer", result_tags=True, thought_keyword=False)
        turns += [{"from": "user", "value": question}, {"from": "assistant", "value": text}]
    return {"conversations": turns}


def from_alpaca(obj: dict[str, Any]) -> Sample:
    if "instruction" not in obj or "output" not in obj:
        raise TooltuneError("an alpaca record needs 'instruction' and 'output'")
    history = [(q, a) for q, a in obj.get("history") or []]
    question = "\n\n".join(filter(None, [obj["instruction"], obj.get("input", "")]))
    return _react_messages(obj.get("system"), history + [(question, obj["output"])])


def to_alpaca(sample: Sample) -> dict[str, Any]:
    system, pairs = _dialogue(sample)
    if not pairs:
        raise TooltuneError("a sample without a user message cannot be written as alpaca")
    texts = [(q, render_scratchpad(msgs)) for q, msgs in pairs]
    last_q, last_a = texts[-1]
    return {"system": react_system(sample, system), "instruction": last_q, "input": "", "output": last_a,
            "history": [list(p) for p in texts[:-1]]}


# -- registry ---------------------------------------------------------------------------------
READERS: dict[str, Callable[[dict[str, Any]], Sample]] = {
    "openai": from_openai, "sharegpt": from_sharegpt, "glaive": from_sharegpt, "ms_agent": from_react_conversation,
    "react": from_react_conversation, "agentfabric": from_react_conversation, "alpaca": from_alpaca,
}
WRITERS: dict[str, Callable[[Sample], dict[str, Any]]] = {
    "openai": to_openai, "sharegpt": to_sharegpt, "react": to_ms_agent, "ms_agent": to_ms_agent,
    "agentfabric": to_agentfabric, "alpaca": to_alpaca,
}


def detect_format(obj: dict[str, Any]) -> str:
    """Guess a record's format from its keys and system prompt."""
    if "messages" in obj and isinstance(obj["messages"], list) and obj["messages"] and "role" in obj["messages"][0]:
        return "openai"
    if "instruction" in obj:
        return "alpaca"
    turns = obj.get("conversations") or obj.get("conversation")
    if isinstance(turns, list):
        roles = {str(t.get("from", t.get("role", ""))).lower() for t in turns if isinstance(t, dict)}
        system = obj.get("system") or next((t.get("value", "") for t in turns if isinstance(t, dict) and t.get("from") == "system"), "")
        react = any(marker in (system or "") for marker in ("Action Input", "# 工具", "following APIs", "following tools"))
        react = react or any(_ACTION_INPUT.search(str(t.get("value", ""))) for t in turns if isinstance(t, dict))
        if not roles & (_CALL | _TOOL) and react and not obj.get("tools"):
            return "agentfabric" if "# 工具" in (system or "") else "ms_agent"
        return "sharegpt"
    raise TooltuneError("cannot tell the format of this record (no messages / conversations / instruction): pass --format")
