"""Recipe v3's synthesis: schemas as real APIs write them, questions composed from the schema
instead of three templates per tool, enumerations that become 2–5 parallel calls, and real
Python functions executed for real.

Why: v2's adapter met its targets on tools from its own bank but fell short on tools other people
wrote (BFCL) — its schemas were all in one style, its questions from a few templates per tool, and
its parallel requests never enumerated more than two argument sets. Each function here removes one
of those regularities the model could lean on (the last one lives beside it, in pyfuncs.py):
  restyle        camelCase / dotted / PascalCase names, terse, missing or long descriptions,
                 allowed values only in the description's prose, numbers typed as strings
  compose        the request built from the tool's purpose and its parameters' words, in one of
                 many sentence shapes ("Find X with a Y of 3", "For Y 3, find X", "X? Y: 3")
  respectively   one function, 2–5 argument sets in one sentence ("… for A, B and C", "… A, B and C
                 for 1, 2 and 3 weeks respectively") → that many calls in one turn
  pyfuncs        functions of Python's standard library (pyfuncs.jsonl: typeshed stub types +
                 CPython docstrings, scripts/extract_pyfuncs.py), called for real: true results
"""

from __future__ import annotations

import random
import re
from typing import Any

from tooltune.data.synth.bank import BankTool
from tooltune.data.synth.dialogues import Call, Episode, simulate
from tooltune.data.synth.values import render_value, sample_value
from tooltune.lang import detect_lang
from tooltune.messages import Message, Sample, ToolCall
from tooltune.toolspec import make_spec, tool_description, tool_name, tool_parameters


OPEN = {"en": ["{I}{a}.", "Can you {i}{a}?", "I need to {i}{a}.", "Please {i}{a}.", "Help me {i}{a}.", "Could you {i}{a}?",
               "I want to {i}{a}.", "{I}{a}, please.", "I'd like you to {i}{a}."],
        "zh": ["请{i}{a}。", "帮我{i}{a}。", "能不能{i}{a}？", "我想{i}{a}。", "麻烦{i}{a}。"]}
ARG = {"en": ["{p} {v}", "a {p} of {v}", "{p} = {v}", "{p}: {v}", "the {p} set to {v}", "{v} as the {p}"],
       "zh": ["{p}为{v}", "{p}是{v}", "{p}：{v}", "{p}设为{v}"]}
ASKED = ["Do you know {i}{a}?", "I'd like to know {i}{a}.", "Any idea about {i}{a}?", "Do you happen to know {i}{a}?"]  # no verb to agree
LEAD = {"en": [" with ", " for ", " using ", ", ", " where "], "zh": ["，", "，其中", "："]}
RESULT_ANSWER = {"en": ["The result is {r}.", "Here is the result: {r}.", "{name} returned {r}."], "zh": ["结果是{r}。", "计算结果：{r}。"]}
PROSE_VALUES = {"en": [" One of: {vals}.", " Allowed values: {vals}.", " Supported: {vals}."], "zh": ["支持 {vals}。", "可选值：{vals}。"]}
LONG_TAIL = {"en": [" Returns a JSON object. Rate-limited to 60 requests per minute.", " This endpoint requires authentication, handled server-side.",
                    " Results are cached for five minutes. Errors are returned with an HTTP status code and a message field."],
             "zh": ["返回JSON格式数据。每分钟最多调用60次。", "接口需要鉴权，由服务端处理。", "结果缓存5分钟。"]}


def words(name: str) -> str:
    """A parameter or tool name as words: `maxResults`, `max_results` → 'max results'."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace(".", " ").lower().strip()


GENERIC_VERB = re.compile(r"^(Returns?|Gets?|Retrieves?|Computes?|Calculates?|Fetch(es)?)\s+")


def first_sentence(description: str) -> str:
    """A description's first sentence, its full stop kept: docstrings run on for paragraphs."""
    return re.split(r"(?<=[.。!?])\s", description.strip())[0]


def intent(description: str, lang: str) -> str:
    """The tool's purpose as a verb phrase to put in a request: its description's first sentence.
    A generic lead verb ("Return", "Get") is dropped — `compose` puts a varied one back — and a
    third-person one made imperative ("Adds 'prefix'…" → "add 'prefix'…")."""
    first = first_sentence(description).rstrip(".。")
    if lang == "zh":
        return first
    if GENERIC_VERB.match(first):
        return GENERIC_VERB.sub("", first)
    head, _, rest = first.partition(" ")
    if head.endswith("s") and head[:1].isupper() and (base := verb_base(head)):
        head = base
    return " ".join(filter(None, [head[:1].lower() + head[1:], rest]))


# Lead words that make a description a verb phrase ("Record a workout"); any other lead word is
# read as a noun phrase ("Monthly payment for a loan", "Quote for car insurance") that needs a verb.
VERBS = frozenset("""
add analyse analyze apply approve archive ask assign block book build buy calculate cancel change check classify clear close collapse compare
compile compute convert copy count create decode decrypt delete deploy describe detect determine disable divide donate download draw edit enable
encode encrypt enroll estimate extend extract fetch file fill filter find flag flip follow format generate give hash install invite join launch
leave list lock log look make mark measure merge move mute normalize notify open order parse pause pay ping plan play plot post predict print
publish query rank rate read record register reject remind remove rename render rent replace reply represent request rescale reserve reset resize
resolve restore retrieve roll round run save scan schedule score search send set share sign solve sort split start stop strip submit subscribe
suggest summarise summarize tell temporarily test track transfer translate truncate try turn unblock unfollow uninstall unmute update upload
validate verify volunteer wrap write
""".split())
WH = ("whether", "how", "which", "when", "where", "what", "who", "why")


def verb_base(word: str) -> str | None:
    """The VERBS entry `word` is a form of ("Adds" -> "add", "Searches" -> "search"), or None."""
    w = word.lower().rstrip(",:")
    return next((b for b in (w, w[:-1] if w.endswith("s") else "", w[:-2] if w.endswith("es") else "") if b in VERBS), None)


def needs_verb(description: str) -> bool:
    """Whether `intent` left a noun phrase or a wh-clause (the description led with a generic
    verb, or with no verb at all)."""
    text = description.strip()
    return bool(GENERIC_VERB.match(text)) or verb_base(text.split(" ", 1)[0]) is None


def compose(purpose: str, args: list[tuple[str, Any]], lang: str, rng: random.Random, verb: str | None = None) -> str:
    """A request: a purpose and the argument values it states, in one of many sentence shapes.
    `verb` "" keeps a purpose that is a verb phrase as it is; None puts a verb before a noun
    phrase, or asks it as a question."""
    template = rng.choice(OPEN[lang])
    wh = purpose.split(" ", 1)[0].lower() in WH  # "whether a food is toxic…": tell me / find out / check
    if lang == "en" and verb is None and not wh and rng.random() < 0.35:
        # a noun phrase asked as a question ("What is the status of an order…?"): BFCL's knowledge-like
        # requests with a fitting tool, which v3 answered from memory instead of calling
        verb, template = "", rng.choice(ASKED)
        if not re.match(r"(the|a|an) ", purpose, re.I):
            purpose = "the " + purpose
    elif lang == "en" and verb is None:
        verb = rng.choice(["tell me", "find out", "check"] if wh else ["find", "get", "calculate", "look up", "tell me", "compute", "check", "give me"])
    if verb and verb.endswith(" me") and template.startswith(("I need", "I want", "Help me")):  # not "Help me tell me…"
        verb = "find out" if verb == "tell me" else "get"
    head = f"{verb} {purpose}" if lang == "en" and verb else purpose
    parts = [rng.choice(ARG[lang]).format(p=p, v=render_value(v, lang)) for p, v in args]
    if not parts:
        a = ""
    else:
        joined = (", ".join(parts[:-1]) + " and " + parts[-1]) if lang == "en" and len(parts) > 1 else ("，".join(parts) if lang == "zh" else parts[0])
        a = rng.choice(LEAD[lang]) + joined
    return template.format(I=head[:1].upper() + head[1:], i=head, a=a)


# -- restyle: a sample's tools as real APIs write them -----------------------------------------
def _style_name(name: str, style: str, domain: str) -> str:
    parts = words(name).split()
    if style == "camel":
        return parts[0] + "".join(p.title() for p in parts[1:])
    if style == "pascal":
        return "".join(p.title() for p in parts)
    if style == "dotted":
        return f"{domain}.{'_'.join(parts)}"
    return "_".join(parts)


def restyle(sample: Sample, rng: random.Random, domains: dict[str, str] | None = None) -> Sample:
    """The same dialogue over tools written in another house style: names and parameter names
    re-cased, descriptions terse / missing / long, enums moved into prose, integers typed as
    strings (and their arguments written as strings). Calls and results follow the renaming."""
    domains = domains or {}
    style, pstyle = rng.choice(["snake", "camel", "dotted", "pascal"]), rng.choice(["snake", "snake", "camel"])
    names: dict[str, str] = {}
    params: dict[str, dict[str, str]] = {}
    as_string: set[tuple[str, str]] = set()
    tools = []
    for spec in sample.tools:
        name, fn_schema, desc = tool_name(spec), tool_parameters(spec), tool_description(spec)
        new = names[name] = _style_name(name, style, domains.get(name, "api"))
        ren = params[name] = {p: _style_name(p, pstyle, "") for p in fn_schema.get("properties", {})}
        props = {}
        for k, schema in fn_schema.get("properties", {}).items():
            schema = dict(schema)
            lang = detect_lang(schema.get("description", "") + desc)
            if "enum" in schema and rng.random() < 0.5:
                vals = schema.pop("enum")
                schema["description"] = schema.get("description", "") + rng.choice(PROSE_VALUES[lang]).format(vals=", ".join(map(str, vals)))
            if schema.get("type") == "integer" and rng.random() < 0.2:
                schema["type"] = "string"
                as_string.add((name, k))
            if rng.random() < 0.15:
                schema.pop("description", None)
            props[ren[k]] = schema
        p2 = {**fn_schema, "properties": props}
        if "required" in p2:
            p2["required"] = [ren[r] for r in p2["required"]]
        roll = rng.random()
        if roll < 0.15:
            desc = ""
        elif roll < 0.35:
            desc = re.split(r"[,.，。(（]", desc)[0]
        elif roll < 0.5:
            desc += rng.choice(LONG_TAIL[detect_lang(desc)])
        tools.append(make_spec(new, desc, p2))

    def args_of(call: ToolCall) -> dict[str, Any]:
        ren = params.get(call.name, {})
        return {ren.get(k, k): (str(v) if (call.name, k) in as_string else v) for k, v in call.arguments.items()}

    # Replies name tools too ("The tools I have: get_weather (…)"): they follow the renaming, or the
    # sample would teach a name that is not on offer.
    renamed = {o: n for o, n in names.items() if o != n}
    pattern = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, sorted(renamed, key=len, reverse=True))) + r")(?![\w])") if renamed else None

    def text_of(m: Message) -> str | None:
        return pattern.sub(lambda g: renamed[g.group(1)], m.content) if pattern and m.content and m.role == "assistant" else m.content

    msgs = [Message(m.role, text_of(m), [ToolCall(names.get(c.name, c.name), args_of(c), c.id) for c in m.tool_calls], m.tool_call_id,
                    names.get(m.name, m.name) if m.name else None, m.reasoning_content) for m in sample.messages]
    return Sample(msgs, tools)


# -- composed requests over bank tools --------------------------------------------------------
def param_words(p: dict[str, Any], lang: str, rng: random.Random) -> str:
    """How a user names a parameter: its name as words, or (zh) its description's first clause."""
    if lang == "zh":
        return re.split(r"[，,。（(]", p["description"]["zh"])[0]
    return words(p["name"]) if rng.random() < 0.7 else re.split(r"[,.(]", p["description"]["en"])[0].lower()


def composed_single(tool: BankTool, lang: str, rng: random.Random) -> Episode:
    """A single call whose request is composed from the tool's description and parameters."""
    chosen = [p for p in tool.parameters if p.get("required") or rng.random() < 0.3]
    args = {p["name"]: sample_value(p, lang, rng) for p in chosen}
    rng.shuffle(chosen)
    verb = None if needs_verb(tool.description["en"]) else ""
    q = compose(intent(tool.description[lang], lang), [(param_words(p, lang, rng), args[p["name"]]) for p in chosen], lang, rng, verb)
    args = {p["name"]: args[p["name"]] for p in tool.parameters if p["name"] in args}
    call = Call(tool, args, simulate(tool, args))
    return Episode(q, [[call]], call.answer(lang, rng), kind="single")


def _enumerate(values: list[str], lang: str) -> str:
    if lang == "zh":
        return "、".join(values[:-1]) + "和" + values[-1]
    return ", ".join(values[:-1]) + " and " + values[-1]


def respectively(tool: BankTool, lang: str, rng: random.Random, n: int | None = None) -> Episode | None:
    """One function, n argument sets in one sentence → n calls in one turn. One parameter varies
    ("… for A, B and C"), or two vary together ("… for A, B and C over 1, 2 and 3 days respectively")."""
    n = n or rng.choice([2, 3, 3, 4, 4, 5])
    varying = [p for p in tool.required if p["kind"] not in ("object", "array", "boolean")]
    if not varying:
        return None
    rng.shuffle(varying)
    varying = varying[: 2 if len(varying) > 1 and rng.random() < 0.4 else 1]
    fixed = {p["name"]: sample_value(p, lang, rng) for p in tool.required if p not in varying}
    columns: dict[str, list[Any]] = {}
    for p in varying:
        seen: list[Any] = []
        for _ in range(n * 6):
            v = sample_value(p, lang, rng)
            if v not in seen:
                seen.append(v)
            if len(seen) == n:
                break
        if len(seen) < 2:
            return None
        columns[p["name"]] = seen
    n = min(len(c) for c in columns.values())
    purpose = intent(tool.description[lang], lang)
    lists = [(param_words(p, lang, rng), _enumerate([render_value(v, lang) for v in columns[p["name"]][:n]], lang)) for p in varying]
    stated = [(param_words(p, lang, rng), fixed[p["name"]]) for p in tool.required if p["name"] in fixed]
    if lang == "en":
        if len(lists) == 1:
            body = f"{purpose} for {lists[0][1]}" if rng.random() < 0.5 else f"{purpose} for each of these {lists[0][0]}s: {lists[0][1]}"
        else:
            body = f"{purpose} for {lists[0][0]} {lists[0][1]} with {lists[1][0]} {lists[1][1]} respectively"
        q = compose(body, stated, lang, rng, None if needs_verb(tool.description["en"]) else "")
    else:
        if len(lists) == 1:
            body = f"{purpose}：{lists[0][0]}分别为{lists[0][1]}"
        else:
            body = f"{purpose}，{lists[0][0]}分别为{lists[0][1]}，{lists[1][0]}分别为{lists[1][1]}"
        q = compose(body, stated, lang, rng)
    calls = []
    for i in range(n):
        args = {**fixed, **{k: col[i] for k, col in columns.items()}}
        args = {p["name"]: args[p["name"]] for p in tool.parameters if p["name"] in args}
        calls.append(Call(tool, args, simulate(tool, args)))
    sep = " " if lang == "en" else ""
    return Episode(q, [calls], sep.join(c.answer(lang, rng) for c in calls), kind="parallel")
