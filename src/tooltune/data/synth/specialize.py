"""The specialisation corpus: dialogues over ONE fixed tool list (the user's), from its schemas alone.

Every sample offers the same tools in the same order — the prompt the user's agent will send — so
its system turn is one shared prefix (training's tree rows compute it once). Episodes:
  single     one call, the request composed from the tool's words and drawn values (requests.py)
  parallel   one tool for 2–3 values, or two tools, in one request: the calls in one turn
  chain      the first call's result holds the value the second call needs
  ask        a request without a required value: ask for it, then call
  no_fit     an operation the tools lack, on an object they handle ("delete the branch …"): text
  knowledge  questions and small talk replayed from the general corpus, answered in text
Results come from the real call where the tool is Python (`real`), else they are simulated from
the arguments. Every call is validated against its schema; duplicate requests are dropped. The
held-out side uses held-out sentence shapes and held-out values only.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

from tooltune.data.synth.bank import stable_fraction
from tooltune.data.synth.dialogues import cannot, load_chat
from tooltune.data.synth.realistic import words
from tooltune.data.synth.requests import arg_phrase, join, param_words, purpose, request, shape_ids
from tooltune.data.synth.schema_values import KIND_WORDS, Drawn, _has, draw, param_kind
from tooltune.messages import Message, Sample, ToolCall
from tooltune.tools import Tool, ToolRegistry

MIX = {"single": 0.52, "parallel": 0.1, "chain": 0.04, "ask": 0.05, "no_fit": 0.14, "knowledge": 0.15}
NO_FIT_VERBS = {"en": ["delete", "rename", "merge", "push", "upload", "share", "archive", "revert", "cancel", "email", "print", "schedule", "undo", "sync"],
                "zh": ["删除", "重命名", "合并", "推送", "上传", "分享", "取消", "打印", "撤销", "同步"]}
THING = {"en": {"branch": "branch", "file_path": "file", "repo_path": "repository", "revision": "commit", "message": "message", "timezone": "time zone",
                "city": "city", "location": "place", "text": "text", "url": "page", "query": "search"},
         "zh": {"branch": "分支", "file_path": "文件", "repo_path": "仓库", "revision": "提交", "timezone": "时区", "text": "文本", "url": "网页"}}
ANSWER = {"en": ["Here is what {name} returned: {r}", "Done. {name} says: {r}", "{r}"], "zh": ["{name}返回的结果：{r}", "完成了，结果是：{r}", "{r}"]}
ALSO = {"en": ["{a} Also, {b}", "{a} And then {b}", "{a} Then {b}"], "zh": ["{a}另外，{b}", "{a}然后{b}"]}
ASK = {"en": {False: ["Can you {p}?", "I want to {p}.", "Please {p}."], True: ["I'd like to {p}.", "Could you {p}?"]},
       "zh": {False: ["帮我{p}。", "我想{p}。"], True: ["麻烦{p}。", "能不能{p}？"]}}
ASK_BACK = {"en": ["Sure. What {what} should I use?", "Happy to help. Which {what}?"], "zh": ["好的，请告诉我{what}。", "可以，请问{what}是什么？"]}


@dataclass
class Plan:
    """A synthesis job: the tools, which run for real, the languages and the split side."""

    tools: ToolRegistry
    langs: list[str]
    real: set[str] = field(default_factory=set)
    held: bool = False
    mix: dict[str, float] = field(default_factory=lambda: dict(MIX))


@dataclass
class Call:
    tool: Tool
    args: dict[str, Drawn]

    @property
    def values(self) -> dict[str, Any]:
        return {k: d.value for k, d in self.args.items()}


def draw_args(tool: Tool, lang: str, rng: random.Random, held: bool, optional: float = 0.3) -> dict[str, Drawn]:
    """Required arguments and, some of the time, optional ones; values distinct within a call."""
    props, required = tool.parameters.get("properties", {}), set(tool.parameters.get("required", []))
    out: dict[str, Drawn] = {}
    for name, schema in props.items():
        if name in required or rng.random() < optional:
            for _ in range(6):
                d = draw(name, schema if isinstance(schema, dict) else {}, lang, rng, held)
                if all(d.value != o.value for o in out.values()):
                    break
            out[name] = d
    return out


def result_of(call: Call, plan: Plan, extra: dict[str, Any] | None = None) -> str | None:
    """The observation: the real result, or one simulated from the arguments (None: a real call failed)."""
    if call.tool.name in plan.real:
        res = call.tool.invoke(call.values)
        return None if res.is_error else res.output[:600]
    return json.dumps({"status": "ok", "tool": call.tool.name, **call.values, **(extra or {})}, ensure_ascii=False)


class Synth:
    def __init__(self, plan: Plan, seed: int) -> None:
        self.plan, self.rng = plan, random.Random(seed)
        self.tools = list(plan.tools)
        self.chat = load_chat()
        from tooltune.data.synth.corpus_v3 import load_knowledge

        knowledge = load_knowledge(held_out=False)
        # each side of the split replays its own questions (a stable hash of the question)
        self.replay = {lang: [(q, a) for q, a in self.chat.get(lang, []) + knowledge.get(lang, []) if (stable_fraction(q) < 0.25) == plan.held]
                       for lang in ("en", "zh")}
        self.ids = 0

    def shape(self, lang: str) -> int:
        return self.rng.choice(shape_ids(lang, self.plan.held))

    def episode(self) -> tuple[str, list[Message]] | None:
        kinds, weights = zip(*self.plan.mix.items())
        kind = self.rng.choices(kinds, weights)[0]
        lang = self.rng.choice(self.plan.langs)
        made = getattr(self, f"_{kind}")(lang)
        return (kind, made) if made else None

    def _call_msgs(self, calls: list[Call], lang: str, extra: list[dict[str, Any]] | None = None) -> list[Message] | None:
        tcs, results = [], []
        for i, call in enumerate(calls):
            if call.tool.validate(call.values):
                return None
            self.ids += 1
            tcs.append(ToolCall(call.tool.name, call.values, f"call_{self.ids}"))
            out = result_of(call, self.plan, (extra or [{}] * len(calls))[i])
            if out is None:
                return None
            results.append(Message("tool", out, tool_call_id=tcs[-1].id, name=call.tool.name))
        return [Message("assistant", None, tcs), *results]

    def _answer(self, calls: list[Call], msgs: list[Message], lang: str) -> Message:
        outs = [m.content or "" for m in msgs if m.role == "tool"]
        text = " ".join(self.rng.choice(ANSWER[lang]).format(name=c.tool.name, r=o[:200]) for c, o in zip(calls, outs))
        return Message("assistant", text)

    def _single(self, lang: str) -> list[Message] | None:
        call = Call(t := self.rng.choice(self.tools), draw_args(t, lang, self.rng, self.plan.held))
        body = self._call_msgs([call], lang)
        return body and [Message("user", request(t, call.args, lang, self.rng, self.shape(lang))), *body, self._answer([call], body, lang)]

    def _parallel(self, lang: str) -> list[Message] | None:
        a = self.rng.choice(self.tools)
        if self.rng.random() < 0.5:
            b = self.rng.choice([t for t in self.tools if t is not a] or [a])
            ca, cb = Call(a, draw_args(a, lang, self.rng, self.plan.held)), Call(b, draw_args(b, lang, self.rng, self.plan.held))
            qa, qb = request(a, ca.args, lang, self.rng, self.shape(lang)), request(b, cb.args, lang, self.rng, self.shape(lang))
            qa = qa if qa[-1:] in ".?!。？！" else qa + ("." if lang == "en" else "。")
            q = self.rng.choice(ALSO[lang]).format(a=qa, b=qb[:1].lower() + qb[1:] if lang == "en" else qb)
            calls = [ca, cb]
        else:
            calls, q = self._one_tool_many(a, lang) or ([], "")
        body = calls and self._call_msgs(calls, lang)
        return body and [Message("user", q), *body, self._answer(calls, body, lang)]

    def _one_tool_many(self, tool: Tool, lang: str) -> tuple[list[Call], str] | None:
        """One tool for 2–3 values of one required argument: "… in Tokyo and Paris"."""
        props, required = tool.parameters.get("properties", {}), tool.parameters.get("required", [])
        varying = [n for n in required if param_kind(n, props.get(n, {})) not in ("boolean", "array", "object", "enum")]
        if not varying:
            return None
        name = self.rng.choice(varying)
        base = draw_args(tool, lang, self.rng, self.plan.held, optional=0.0)
        values: list[Drawn] = []
        want = self.rng.choice([2, 2, 3])
        for _ in range(12):
            d = draw(name, props[name], lang, self.rng, self.plan.held)
            if all(d.value != v.value for v in values):
                values.append(d)
            if len(values) == want:
                break
        if len(values) < 2:
            return None
        calls = [Call(tool, {**base, name: v}) for v in values]
        merged = Drawn(None, join([v.surface for v in values], lang) if lang == "en" else "和".join(v.surface for v in values))
        return calls, request(tool, {**base, name: merged}, lang, self.rng, self.shape(lang))

    def _chain(self, lang: str) -> list[Message] | None:
        """A's (simulated) result holds the value B needs: "…, then <B> with the <param> from that"."""
        a = self.rng.choice([t for t in self.tools if t.name not in self.plan.real] or [None])  # type: ignore[list-item]
        bs = [t for t in self.tools if t is not a and t.parameters.get("required")]
        if a is None or not bs:
            return None
        b = self.rng.choice(bs)
        link = self.rng.choice(b.parameters["required"])
        if not any(_has(f"{a.name} {a.description}".lower(), k) for k in dict(KIND_WORDS).get(param_kind(link, b.parameters["properties"].get(link, {})), ())):
            return None  # A's result would not plausibly hold that value
        ca, cb = Call(a, draw_args(a, lang, self.rng, self.plan.held)), Call(b, draw_args(b, lang, self.rng, self.plan.held))
        first = self._call_msgs([ca], lang, [{link: cb.args[link].value}])
        if not first:
            return None
        pw = param_words(link, b.parameters["properties"].get(link, {}), lang, self.rng)
        later = dict(cb.args)
        later.pop(link)
        qb = request(b, later, lang, self.rng, self.shape(lang)).rstrip(".?!。？")
        qa = request(a, ca.args, lang, self.rng, self.shape(lang))
        q = f"{qa} Then, using the {pw} from that result: {qb[:1].lower() + qb[1:]}." if lang == "en" else f"{qa}然后用结果里的{pw}，{qb}。"
        second = self._call_msgs([cb], lang)
        return second and [Message("user", q), *first, *second, self._answer([cb], second, lang)]

    def _ask(self, lang: str) -> list[Message] | None:
        tool = self.rng.choice(self.tools)
        required = tool.parameters.get("required", [])
        if not required or len(required) > 2:
            return None
        call = Call(tool, draw_args(tool, lang, self.rng, self.plan.held, optional=0.0))
        props = tool.parameters.get("properties", {})
        what = join([param_words(n, props.get(n, {}), lang, self.rng) for n in required], lang)
        p = purpose(tool, lang, self.rng)
        q = self.rng.choice(ASK[lang][self.plan.held]).format(p=p)
        reply = (", " if lang == "en" else "，").join(call.args[n].surface for n in required)
        body = self._call_msgs([call], lang)
        return body and [Message("user", q[:1].upper() + q[1:]), Message("assistant", self.rng.choice(ASK_BACK[lang]).format(what=what)),
                         Message("user", reply), *body, self._answer([call], body, lang)]

    def _no_fit(self, lang: str) -> list[Message] | None:
        """An operation none of the tools does, on a thing one of them handles: "delete the branch X"."""
        tool = self.rng.choice(self.tools)
        said = " ".join(f"{t.name} {words(t.name)} {t.description}".lower() for t in self.tools)
        verbs = [v for v in NO_FIT_VERBS[lang] if v not in said]
        args = draw_args(tool, lang, self.rng, self.plan.held, optional=0.0)
        if not verbs or not args:
            return None
        props = tool.parameters.get("properties", {})
        names = list(args)
        self.rng.shuffle(names)
        thing = names[0]
        noun = THING[lang].get(param_kind(thing, props.get(thing, {})), param_words(thing, props.get(thing, {}), lang, self.rng))
        context = [arg_phrase(n, props.get(n, {}), args[n], lang, self.rng, False) for n in names[1:2]]
        verb = self.rng.choice(verbs)
        if lang == "en":
            lead = self.rng.choice(["Could you ", "I want you to "] if self.plan.held else ["Please ", "Can you ", ""])
            q = f"{lead}{verb} the {noun} {args[thing].surface}" + (f" {context[0]}" if context else "") + "."
        else:
            lead = self.rng.choice(["麻烦", "请你"] if self.plan.held else ["帮我", "请", ""])
            q = f"{lead}{verb}{noun}{args[thing].surface}" + (f"，{context[0]}" if context else "") + "。"
        offered = [tool] + [t for t in self.tools if t is not tool]
        return [Message("user", q[:1].upper() + q[1:]), Message("assistant", cannot([(t.name, t.description) for t in offered], lang, self.rng))]

    def _knowledge(self, lang: str) -> list[Message] | None:
        pool = self.replay.get(lang) or self.replay["en"]
        q, a = self.rng.choice(pool)
        return [Message("user", q), Message("assistant", a)]


def synthesize(plan: Plan, n: int, seed: int = 0, exclude: set[str] | None = None, on_sample: Any = None) -> list[dict[str, Any]]:
    """`n` rows {"kind", "sample"} over the plan's tools; requests in `exclude` (the other side of
    the split) or already made are skipped. `on_sample` is called after each kept row (progress)."""
    synth = Synth(plan, seed)
    specs = plan.tools.to_openai()
    seen = set(exclude or ())
    rows: list[dict[str, Any]] = []
    for _ in range(n * 20):
        if len(rows) >= n:
            break
        made = synth.episode()
        if not made:
            continue
        kind, msgs = made
        key = "\n".join(m.content or "" for m in msgs if m.role == "user")
        if key in seen and kind != "knowledge":  # replayed answers may repeat (their pool is small); composed requests may not
            continue
        seen.add(key)
        rows.append({"kind": kind, "sample": Sample(msgs, specs).to_openai()})
        if on_sample:
            on_sample()
    return rows
