"""Requests for one tool call, composed from the tool's own words: what it does (its description
as a verb phrase, or its name), what each argument is (the parameter's name or description) and
the values in the forms people write them (schema_values). Sentence shapes are numbered and split
into a training side and a held-out side, so the held-out evaluation asks in shapes the model was
never trained on.
"""

from __future__ import annotations

import random
import re
from typing import Any

from tooltune.data.synth.realistic import VERBS, first_sentence, words
from tooltune.data.synth.schema_values import Drawn, param_kind
from tooltune.lang import detect_lang
from tooltune.tools import Tool

SHAPES = {
    "en": ["{P} {A}.", "Can you {p} {A}?", "Please {p} {A}.", "I need to {p} {A}.", "Could you {p} {A} for me?", "{A}: {p}, please.",
           "{T}", "hey can you {p} {A}", "I'd like you to {p} {A}.", "Quick one: {p} {A}", "Go ahead and {p} {A}.", "{P} {A}, thanks!"],
    "zh": ["请{p}，{A}。", "帮我{p}，{A}。", "{A}，{p}。", "我想{p}，{A}", "能不能{p}？{A}", "{p}：{A}", "麻烦{p}一下，{A}，谢谢！", "{A}，帮忙{p}"],
}
HELD_SHAPES = {"en": {9, 10, 11}, "zh": {6, 7}}
# A getter ("Get the current time in a timezone", "Shows the commit logs") is also asked for as a
# question about what it returns: {np} is the description's object ("the current time in Tokyo").
QUESTION_SHAPES = ["What's {np}{A}?", "What is {np}{A}?", "Tell me {np}{A}.", "{NP}{A}?", "I want to know {np}{A}.", "Show me {np}{A}."]
HELD_QUESTIONS = {4, 5}
QUESTION_SHARE = 0.4
GETTERS = frozenset("get gets show shows return returns fetch fetches display displays list lists retrieve retrieves".split())
DETERMINERS = ("the ", "a ", "an ", "all ", "any ", "some ", "my ", "your ", "its ", "their ", "this ", "these ", "each ", "every ")
EXTRA_VERBS = frozenset("show switch stage unstage list get convert commit checkout push pull display return fetch tell browse recognize "
                        "identify transcribe generate translate parse look".split())
ZH_VERBS = ("获取", "查询", "查", "生成", "翻译", "识别", "转换", "搜索", "浏览", "计算", "发送", "创建", "删除", "显示", "列出", "将", "把", "根据", "帮", "提供", "返回")
# How an argument of a kind is stated: {p} the parameter's words, {v} the value as said
PHRASES = {
    "en": {"repo_path": ["in {v}", "in the repo at {v}", "for the repository {v}", "in my repo {v}", "at {v}", "repo {v}"],
           "timezone": ["in {v}", "for {v}", "{p} {v}"], "city": ["in {v}", "for {v}"], "location": ["in {v}", "for {v}"],
           "message": ["with the message {v}", "message {v}", "saying {v}"], "branch": ["{p} {v}", "called {v}", "named {v}"],
           "file_path": ["{v}", "the file {v}"], "*": ["{p} {v}", "with {p} {v}", "{p}: {v}", "{p} = {v}", "using {v} as the {p}"]},
    "zh": {"repo_path": ["仓库{v}", "在{v}这个仓库", "{v}仓库"], "timezone": ["{v}"], "city": ["{v}"], "location": ["{v}"],
           "branch": ["分支{v}", "{v}分支"], "*": ["{p}是{v}", "{p}为{v}", "{p}：{v}", "{v}"]},
}
ROLE = {"en": [(("source", "from", "base", "start"), "from {v}"), (("target", "to", "destination", "end"), "to {v}")],
        "zh": [(("source", "from", "base", "start"), "从{v}"), (("target", "to", "destination", "end"), "到{v}")]}


def shape_ids(lang: str, held: bool) -> list[int]:
    return [i for i in range(len(SHAPES[lang])) if (i in HELD_SHAPES[lang]) == held]


def tool_lang(tool: Tool) -> str:
    return detect_lang(tool.description)


def purpose(tool: Tool, lang: str, rng: random.Random) -> str:
    """What the user asks the tool to do, as a verb phrase: the description's first sentence made
    imperative ("Shows the commit logs" -> "show the commit logs"), a noun phrase given a verb, or
    (for a Chinese request about a tool described in English) the tool named."""
    desc = first_sentence(tool.description).rstrip(".。 ")
    if lang == "zh":
        if tool_lang(tool) == "zh":
            head = re.split(r"[，,。；;]", desc)[0]
            return head if head.startswith(ZH_VERBS) else rng.choice(["用{d}", "调用{d}"]).format(d=head)
        return rng.choice(["用{n}查一下", "调用{n}", "用{n}"]).format(n=tool.name)
    if tool_lang(tool) == "zh" or not desc:
        return f"use {tool.name}"
    head, _, rest = desc.partition(" ")
    base = _verb_base(head)
    if base:
        return " ".join(filter(None, [base, rest]))
    return rng.choice(["get", "show me", "give me", "find"]) + " " + desc[:1].lower() + desc[1:]


def _verb_base(word: str) -> str | None:
    w = word.lower().strip(",:")
    for base in (w, w[:-1] if w.endswith("s") else "", w[:-2] if w.endswith("es") else ""):
        if base in VERBS or base in EXTRA_VERBS:
            return base
    return None


def param_words(name: str, schema: dict[str, Any], lang: str, rng: random.Random) -> str:
    desc = str(schema.get("description", "")).strip()
    if lang == "zh" and detect_lang(desc) == "zh":
        head = re.split(r"[，,。（(：:、/]", desc)[0]
        return head if 0 < len(head) <= 16 else words(name)
    return words(name)


def arg_phrase(name: str, schema: dict[str, Any], drawn: Drawn, lang: str, rng: random.Random, clash: bool) -> str:
    """One argument as a request states it; `clash` (another argument of the same kind in the call)
    asks for its role ("from X", "to Y") or its name instead of the kind's bare phrase."""
    kind = param_kind(name, schema)
    p = param_words(name, schema, lang, rng)
    if clash:
        for keys, template in ROLE[lang]:
            if any(k in words(name).split() for k in keys):
                return template.format(v=drawn.surface)
        return rng.choice(PHRASES[lang]["*"][:3]).format(p=p, v=drawn.surface)
    return rng.choice(PHRASES[lang].get(kind, PHRASES[lang]["*"])).format(p=p, v=drawn.surface)


def join(parts: list[str], lang: str) -> str:
    if lang == "zh":
        return "，".join(parts)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1] if parts else ""


def absorb(p: str, name: str, drawn: Drawn) -> str | None:
    """The purpose with its generic mention of parameter `name` ("in a specific timezone",
    "for the given city") replaced by the value ("in Tokyo"), or None when it names none: people
    put the value where the description says what kind of value goes, never "timezone timezone"."""
    noun = words(name).split()[-1] if words(name) else ""
    if len(noun) < 3:
        return None
    generic = rf"\b(?:a|an|the|some|any)\s+(?:specific|given|particular|certain|provided|specified|target|desired)?\s*{re.escape(noun)}s?\b"
    found = re.search(generic, p, flags=re.IGNORECASE)
    return p[: found.start()] + drawn.surface + p[found.end():] if found else None


def noun_phrase(p: str) -> str | None:
    """What a getter's purpose returns ("get current time in Tokyo" -> "the current time in
    Tokyo"), for question shapes; None when the purpose is no getter."""
    verb, _, rest = p.partition(" ")
    if verb.lower() not in GETTERS or len(rest.split()) < 2 or rest.lower().startswith(("me ", "you ", "us ")):
        return None
    return rest if rest.lower().startswith(DETERMINERS) else "the " + rest


def request(tool: Tool, args: dict[str, Drawn], lang: str, rng: random.Random, shape: int) -> str:
    """The request for one call of `tool` with `args`, in sentence shape `shape` (SHAPES); for an
    English getter, some of the time as a question about what it returns (QUESTION_SHAPES, on the
    same side of the held-out split as `shape`)."""
    props = tool.parameters.get("properties", {})
    kinds = [param_kind(n, props.get(n, {})) for n in args]
    names = list(args)
    rng.shuffle(names)
    p = purpose(tool, lang, rng)
    if lang == "en":  # a value said where the description names its kind, at most one per request
        for n in names:
            if (said := absorb(p, n, args[n])) is not None:
                p, names = said, [m for m in names if m != n]
                break
    parts = [arg_phrase(n, props.get(n, {}), args[n], lang, rng, kinds.count(param_kind(n, props.get(n, {}))) > 1) for n in names]
    terse = " ".join([words(tool.name)] + [args[n].surface for n in names])
    np = noun_phrase(p) if lang == "en" else None
    if np and rng.random() < QUESTION_SHARE:
        held = shape in HELD_SHAPES[lang]
        pick = rng.choice([i for i in range(len(QUESTION_SHAPES)) if (i in HELD_QUESTIONS) == held])
        a = (" " + join(parts, lang)) if parts else ""
        text = QUESTION_SHAPES[pick].format(np=np, NP=np[:1].upper() + np[1:], A=a)
    else:
        text = SHAPES[lang][shape].format(P=p[:1].upper() + p[1:], p=p, A=join(parts, lang), T=terse)
    text = re.sub(r"\s+([.?!,，。])", r"\1", text).replace(" :", ":").strip()
    text = re.sub(r"^[:：,，]\s*", "", re.sub(r"\s{2,}", " ", text))  # a shape whose {A} was all absorbed
    return text[:1].upper() + text[1:] if lang == "en" else text
