"""Schema-driven synthesis of tool-use dialogues from the bank.

Each *episode* is one user request and everything up to its answer: a single call, parallel calls,
a two-step chain where the first result feeds the second call, a request that lacks a required
value (the right move is to ask for it, then call), or a hard negative — a request no offered tool
fits, or plain chat — whose right answer is text. A sample strings 1–3 episodes over one tool list
(the target tools plus distractors, shuffled), so the long tool prompt is paid once per several
trained turns. Tool results are simulated from the bank's `returns` shape, seeded by the call, so
the same call always gets the same result (the held-out evaluation executes tools the same way).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooltune.data.synth.bank import BankTool, random_name
from tooltune.data.synth.values import render_value, result_value, sample_value
from tooltune.lang import LANGS, detect_lang
from tooltune.messages import Message, Sample, ToolCall, read_jsonl
from tooltune.prompts import prompt_lines
from tooltune.toolspec import tool_name, tool_parameters, wrapped

CHAT_PATH = Path(__file__).resolve().parent / "chat.jsonl"
_SLOT = re.compile(r"\{(\w+)\}")
SYSTEMS = {lang: prompt_lines("synth_system", lang) for lang in LANGS}  # prompts/synth_system_LANG.txt
JOIN = {"en": ["{a} Also, {b}", "{a} And {b}", "Two things: {a} {b}", "{a} Then, {b}"], "zh": ["{a}另外，{b}", "{a}还有，{b}", "{a}同时，{b}"]}
CHAIN = {"en": ["{a} Then use the {field} from that to {b}", "{a} After that, with that {field}, {b}"],
         "zh": ["{a}然后用查到的{field}，{b}", "{a}再根据得到的{field}，{b}"]}


def fill(template: str, values: dict[str, Any], lang: str) -> str:
    return _SLOT.sub(lambda m: render_value(values[m.group(1)], lang) if m.group(1) in values else m.group(0), template)


def simulate(tool: BankTool, args: dict[str, Any]) -> dict[str, Any]:
    """The tool's result for these arguments: deterministic, shaped by `returns`, in the language
    the arguments are written in — so an evaluation can execute the tool and get what training saw."""
    key = json.dumps([tool.id, args], sort_keys=True, ensure_ascii=False)
    lang = detect_lang(key)
    rng = random.Random(int(hashlib.sha256(key.encode()).hexdigest()[:12], 16))
    return {name: result_value(spec, lang, rng) for name, spec in tool.returns.items()}


@dataclass
class Call:
    tool: BankTool
    args: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)

    def answer(self, lang: str, rng: random.Random) -> str:
        return fill(rng.choice(self.tool.answer[lang]), {**self.args, **self.result}, lang)


def request(tool: BankTool, lang: str, rng: random.Random) -> tuple[str, Call]:
    """A question stating the values of the call it asks for: the template's slots pick which
    optional parameters are given."""
    template = rng.choice(tool.questions[lang])
    slots = set(_SLOT.findall(template))
    args = {p["name"]: sample_value(p, lang, rng) for p in tool.parameters if p.get("required") or p["name"] in slots}
    call = Call(tool, args)
    call.result = simulate(tool, args)
    return fill(template, args, lang), call


def _first_lower(text: str) -> str:
    """Lower-case a sentence's first letter to join it after another ("Also, get…"), but never
    the pronoun I or an acronym."""
    if not text[:1].isupper() or text[1:2].isupper() or text[:2] in ("I ", "I'"):
        return text
    return text[:1].lower() + text[1:]


@dataclass
class Episode:
    """One request and the reference turns after it (canonical messages, call ids numbered)."""

    question: str
    steps: list[list[Call]] = field(default_factory=list)  # each step: the calls made together
    answer: str = ""
    followup: list[Message] = field(default_factory=list)  # ask-for-missing: the clarifying exchange
    kind: str = "single"

    @property
    def calls_tool(self) -> bool:
        return bool(self.steps)

    def messages(self, ids: list[int], text_lang: str | None = None) -> list[Message]:
        """The episode's messages; with `text_lang`, tool results as plain text in that language."""
        out = [Message("user", self.question), *self.followup]
        for step in self.steps:
            calls = []
            for c in step:
                ids[0] += 1
                calls.append(ToolCall(c.tool.name, dict(c.args), f"call_{ids[0]}"))
            out.append(Message("assistant", None, calls))
            out += [Message("tool", result_text(c.result, text_lang) if text_lang else json.dumps(c.result, ensure_ascii=False),
                            tool_call_id=tc.id, name=tc.name) for c, tc in zip(step, calls)]
        out.append(Message("assistant", self.answer))
        return out


def result_text(result: dict[str, Any], lang: str) -> str:
    """A tool result as a plain-text tool would answer it: one field is its bare value (`1093`),
    several are "name: value" lines."""
    if len(result) == 1:
        return render_value(next(iter(result.values())), lang)
    return "\n".join(f"{name}: {render_value(value, lang)}" for name, value in result.items())


def single(tool: BankTool, lang: str, rng: random.Random) -> Episode:
    q, call = request(tool, lang, rng)
    return Episode(q, [[call]], call.answer(lang, rng), kind="single")


def parallel(a: BankTool, b: BankTool, lang: str, rng: random.Random) -> Episode:
    qa, ca = request(a, lang, rng)
    qb, cb = request(b, lang, rng)
    if a.id == b.id and ca.args == cb.args:
        return single(a, lang, rng)
    q = rng.choice(JOIN[lang]).format(a=qa, b=_first_lower(qb) if lang == "en" else qb)
    sep = " " if lang == "en" else ""
    return Episode(q, [[ca, cb]], ca.answer(lang, rng) + sep + cb.answer(lang, rng), kind="parallel")


def chain_link(a: BankTool, b: BankTool) -> tuple[str, str] | None:
    """(result field of a, required parameter of b) of the same kind, if any: b needs a's output."""
    for fname, spec in a.returns.items():
        if not spec.startswith("kind:"):
            continue
        for p in b.required:
            if p["kind"] == spec[5:] and a.id != b.id:
                return fname, p["name"]
    return None


def chain(a: BankTool, b: BankTool, link: tuple[str, str], lang: str, rng: random.Random) -> Episode:
    fname, pname = link
    qa, ca = request(a, lang, rng)
    template = rng.choice([t for t in b.questions[lang] if "{" + pname + "}" in t] or b.questions[lang])
    slots = set(_SLOT.findall(template)) - {pname}
    args = {p["name"]: sample_value(p, lang, rng) for p in b.parameters if (p.get("required") or p["name"] in slots) and p["name"] != pname}
    ref = ("it" if lang == "en" else "它")
    qb = fill(template, {**args, pname: ref}, lang)
    args[pname] = ca.result[fname]
    args = {p["name"]: args[p["name"]] for p in b.parameters if p["name"] in args}
    cb = Call(b, args, simulate(b, args))
    field_name = fname.replace("_", " ")
    q = rng.choice(CHAIN[lang]).format(a=qa, field=field_name, b=_first_lower(qb) if lang == "en" else qb)
    return Episode(q, [[ca], [cb]], cb.answer(lang, rng), kind="chain")


ASK = {"en": ["Can you {d}?", "I'd like to {d}.", "Please help me {d}."], "zh": ["帮我{d}。", "我想{d}。", "能不能{d}？"]}
ASK_BACK = {"en": "Sure, I can help with that. Could you tell me {what}?", "zh": "好的，可以帮你。请告诉我{what}。"}


def ask_missing(tool: BankTool, lang: str, rng: random.Random) -> Episode | None:
    """A request without the required values: the assistant asks, the user answers, then the call."""
    if not tool.required or len(tool.required) > 2:
        return None
    desc = tool.description[lang].strip().rstrip(".。")
    q = rng.choice(ASK[lang]).format(d=_first_lower(desc) if lang == "en" else desc)
    names = [p["description"][lang].split(",")[0].split("，")[0].rstrip(".。").strip() for p in tool.required]
    what = (" and ".join(n[:1].lower() + n[1:] for n in names)) if lang == "en" else "和".join(names)
    _, call = request(tool, lang, rng)
    args = call.args
    given = [render_value(args[p["name"]], lang) for p in tool.required]
    reply = given[0] if len(given) == 1 else (", ".join(given) if lang == "en" else "，".join(given))
    followup = [Message("assistant", ASK_BACK[lang].format(what=what)), Message("user", reply)]
    return Episode(q, [[call]], call.answer(lang, rng), followup, kind="ask")


# v2's wording, kept so the shipped adapter's corpus rebuilds byte for byte; it splices a
# description into "let me {can}", ungrammatical where the description is a noun phrase.
NO_FIT_V2 = {"en": ["Sorry, I can't help with that: none of the available tools can do it. I can help you {can} instead.",
                    "I don't have a tool for that request. The tools I have let me {can}."],
             "zh": ["抱歉，现有的工具无法完成这个请求。我可以帮你{can}。", "很抱歉，我没有能处理这个请求的工具。我目前可以{can}。"]}
NO_FIT = {"en": ["Sorry, I can't help with that: none of the available tools can do it. What my tools can do: {can}.",
                 "I don't have a tool for that request. The tools I have: {names}."],
          "zh": ["抱歉，现有的工具无法完成这个请求。我的工具可以做的是：{can}。", "很抱歉，我没有能处理这个请求的工具。我现有的工具：{names}。"]}


def no_fit(absent: BankTool, offered: list[BankTool], lang: str, rng: random.Random, v2: bool = False) -> Episode:
    """A request for a tool that is not offered: the answer is text, never an invented call, and
    says what the offered tools do. Descriptions are listed, never spliced into a sentence: some
    are verb phrases ("Add a title…"), some noun phrases ("Sentiment of a text")."""
    q, _ = request(absent, lang, rng)
    if v2:
        descs = [t.description[lang].strip().rstrip(".。") for t in offered[:2]]
        can = " or ".join(_first_lower(d) for d in descs) if lang == "en" else "，或者".join(descs)
        return Episode(q, [], rng.choice(NO_FIT_V2[lang]).format(can=can), kind="no_fit")
    return Episode(q, [], cannot([(t.name, t.description[lang]) for t in offered], lang, rng), kind="no_fit")


def cannot(offered: list[tuple[str, str]], lang: str, rng: random.Random) -> str:
    """The no-fit reply over (name, description) of the offered tools: none can do it, and what
    the first two can do, by description or by name."""
    descs = [(n, d.strip().rstrip(".。")) for n, d in offered[:2]]
    sep = "; " if lang == "en" else "；"
    can = sep.join(_first_lower(d) for _, d in descs) if lang == "en" else sep.join(d for _, d in descs)
    names = sep.join(f"{n} ({d})" if lang == "en" else f"{n}（{d}）" for n, d in descs)
    return rng.choice(NO_FIT[lang]).format(can=can, names=names)


def load_chat(path: Path = CHAT_PATH) -> dict[str, list[tuple[str, str]]]:
    pools: dict[str, list[tuple[str, str]]] = {lang: [] for lang in LANGS}
    for _, obj in read_jsonl(path):
        pools[obj["lang"]].append((obj["q"], obj["a"]))
    return pools


def chat(pool: list[tuple[str, str]], rng: random.Random) -> Episode:
    q, a = rng.choice(pool)
    return Episode(q, [], a, kind="chat")


def mask(sample: Sample, rng: random.Random) -> Sample:
    """Hammer's function masking: tool and parameter names become random strings (descriptions
    stay), so the model has to read what a tool does instead of matching familiar names."""
    names: dict[str, str] = {}
    params: dict[str, dict[str, str]] = {}
    tools = []
    for spec in sample.tools:
        name, schema = tool_name(spec), tool_parameters(spec)
        new = names[name] = random_name(rng, rng.choice(["fn_", "f", "tool_", ""]))
        ren = params[name] = {p: random_name(rng, "p_") for p in schema.get("properties", {})}
        props = {ren[k]: v for k, v in schema.get("properties", {}).items()}
        p2 = {**schema, "properties": props}
        if "required" in p2:
            p2["required"] = [ren[r] for r in p2["required"]]
        tools.append(wrapped(spec, name=new, parameters=p2))
    msgs = []
    for m in sample.messages:
        m2 = Message(m.role, m.content, [ToolCall(names.get(c.name, c.name), {params.get(c.name, {}).get(k, k): v for k, v in c.arguments.items()}, c.id)
                                         for c in m.tool_calls], m.tool_call_id, names.get(m.name, m.name) if m.name else None, m.reasoning_content)
        msgs.append(m2)
    return Sample(msgs, tools)
