"""Recipe v3's samples: v2's bank dialogues recast the way other people's tools and questions
look (data/synth/realistic.py), real standard-library functions called for real, enumerations
that need 2–5 parallel calls, and knowledge questions answered with the base model's own answers
(knowledge.jsonl, scripts/distill_knowledge.py) instead of refused.

Episode weights (`MixV3`) and why:
  composed/template single  0.17/0.03  v2's core skill, now with composed requests and restyled schemas
  respectively              0.16       BFCL parallel was 17 %: too few calls for an enumeration
  pair                      0.04       two different functions in one request (v2's parallel)
  python / python_parallel  0.12/0.04  real schemas and true results; dotted names (math.gcd)
  python_no_fit             0.04       a math request beside 1-3 other math functions, none of which can
                                       do it: BFCL irrelevance's "area of a triangle" beside a BMI tool
  chain / ask               0.04/0.03  kept from v2 so multi-step skills are not forgotten
  knowledge                 0.12       answer what it knows: no refusal because tools are offered; half
                                       of them beside tools of the question's topic (topical_knowledge)
  lookup                    0.03       a search tool is offered: look the question up (v2 refused look-ups);
                                       at 0.06 (segment 2) BFCL irrelevance fell 54 -> 26 %: questions -> calls
  no_fit                    0.18       an action no offered tool can do: say so, never invent a call; half
                                       of them a near miss (near_no_fit); 0.10 in segments 1-2
  chat                      0.06       small talk and thanks
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tooltune.data.synth.bank import BankTool, stable_fraction
from tooltune.data.synth.dialogues import SYSTEMS, Episode, ask_missing, cannot, chain, chain_link, chat, no_fit, parallel, single
from tooltune.data.synth.pyfuncs import PyFunc, load_pyfuncs, py_call, py_episode
from tooltune.data.synth.realistic import RESULT_ANSWER, compose, composed_single, first_sentence, intent, needs_verb, respectively, restyle, words
from tooltune.data.synth.dialogues import Call
from tooltune.data.synth.lookup import lookup, pick_tool
from tooltune.lang import LANGS
from tooltune.messages import Message, Sample, read_jsonl

# The base model's own answers (scripts/distill_knowledge.py), then answers written for tooltune
# where it has none worth keeping: every Chinese one (the 135M base cannot answer in Chinese).
HERE = Path(__file__).resolve().parent
KNOWLEDGE_PATHS = (HERE / "knowledge.jsonl", HERE / "knowledge_written.jsonl")
QUESTIONS_PATH = HERE / "knowledge_questions.txt"
TOPICS_PATH = HERE / "knowledge_topics.json"
# Standard-library functions that BFCL also offers under the same name (math_gcd, …; checked against
# every BFCL category by tests/data/test_synth_v3.py when bfcl-eval is installed): left out, so no
# BFCL item offers a function the corpus trained on.
ON_BENCHMARK = frozenset({"math.factorial", "math.gcd", "math.hypot", "math.lcm", "math.sqrt", "statistics.median", "statistics.variance"})
# math functions that can stand in for one another (log(x, 10) is log10(x), gamma(n + 1) is n!): a
# request for one is no near miss beside another of its group.
SAME_JOB = [{"log", "log10", "log2", "log1p"}, {"exp", "exp2", "expm1", "pow", "ldexp"}, {"sqrt", "isqrt", "cbrt", "pow"},
            {"factorial", "gamma", "lgamma", "perm", "prod"}, {"fabs", "copysign"}, {"hypot", "dist"}, {"fmod", "remainder", "modf"},
            {"isinf", "isfinite", "isnan", "isclose"}, {"erf", "erfc"}, {"atan", "atan2"}, {"nextafter", "ulp"}, {"frexp", "ldexp"},
            {"fsum", "prod"}]
KNOWLEDGE_HELD_OUT = 0.35  # share of knowledge questions kept for the general-chat check, never trained on


@dataclass
class MixV3:
    composed: float = 0.17
    template: float = 0.03
    respectively: float = 0.16
    pair: float = 0.04
    python: float = 0.12
    python_parallel: float = 0.04
    python_no_fit: float = 0.04
    chain: float = 0.04
    ask: float = 0.03
    knowledge: float = 0.12
    lookup: float = 0.03
    no_fit: float = 0.18
    chat: float = 0.06
    zh: float = 0.3
    restyled: float = 0.5  # share of bank samples whose tools are restyled (realistic.restyle)
    # Share of no-fit requests that ask for an unoffered sibling of an offered tool (the forecast
    # asked of a history tool): BFCL's irrelevance items are this near kind ("the closest integer to
    # 30" with get_closest_prime offered), and the other-domain kind alone never teaches that border.
    near_no_fit: float = 0.5
    # Share of knowledge questions offered beside tools of their own topic (knowledge_topics.json:
    # "What is a prime number?" beside is_prime), which cannot answer them: a tool near the
    # question is no reason to call — BFCL irrelevance's commonest item.
    topical_knowledge: float = 0.5
    # K: samples drawn over one tool list (same tools, descriptions, style and system turn) before a
    # new list is drawn. K > 1 lets training run that tool prompt once for K requests (tree rows,
    # train/tree.py); the number of distinct tool lists is then samples / K. The K - 1 follow-ups
    # are drawn from the kinds a given tool list can hold (not Python functions, chains or look-ups).
    per_tool_list: int = 1

    def kinds(self) -> tuple[list[str], list[float]]:
        names = ["composed", "template", "respectively", "pair", "python", "python_parallel", "python_no_fit", "chain", "ask", "knowledge", "lookup", "no_fit", "chat"]
        return names, [getattr(self, n) for n in names]


def load_knowledge(paths: tuple[Path, ...] = KNOWLEDGE_PATHS, held_out: bool = False) -> dict[str, list[tuple[str, str]]]:
    """The knowledge answers, split by a stable hash of the question: train side or held-out side."""
    pools: dict[str, list[tuple[str, str]]] = {lang: [] for lang in LANGS}
    for path in paths:
        for _, row in read_jsonl(path):
            if (stable_fraction(row["q"]) < KNOWLEDGE_HELD_OUT) == held_out:
                pools[row["lang"]].append((row["q"], row["a"]))
    return pools


def topical_tools(tools: list[BankTool], path: Path = TOPICS_PATH) -> dict[str, list[BankTool]]:
    """Question -> the offered tools of its topic (knowledge_topics.json names domains or tools);
    none that could look the answer up."""
    by_name = {t.name: t for t in tools}
    out: dict[str, list[BankTool]] = {}
    for q, names in json.loads(path.read_text(encoding="utf-8")).items():
        if q.startswith("_"):
            continue
        picked = [t for n in names for t in ([by_name[n]] if n in by_name else [t for t in tools if t.domain == n])]
        out[q] = [t for t in picked if "search" not in t.name.lower() and "lookup" not in t.name.lower()]
    return out


def knowledge_questions(held_out: bool, path: Path = QUESTIONS_PATH) -> list[tuple[str, str]]:
    """(lang, question) from knowledge_questions.txt, one side of the stable split: the train side
    is what scripts/distill_knowledge.py answers, the held-out side what the chat check asks."""
    rows = [ln.split("|", 1) for ln in path.read_text(encoding="utf-8").splitlines() if ln and not ln.startswith("#")]
    return [(lang, q) for lang, q in rows if (stable_fraction(q) < KNOWLEDGE_HELD_OUT) == held_out]


def knowledge_check_items(path: Path = QUESTIONS_PATH) -> list[dict[str, str]]:
    """The held-out knowledge questions for the general-chat check, never trained on: no answer of
    theirs is distilled, and those that v2's chat pool (chat.jsonl) also asks are left out."""
    from tooltune.data.synth.dialogues import load_chat

    chat = {q for pool in load_chat().values() for q, _ in pool}
    return [{"lang": lang, "q": q} for lang, q in knowledge_questions(True, path) if q not in chat]


class SynthV3:
    """Draws v3 samples from the train side of the bank, the Python functions and the knowledge pool."""

    def __init__(self, tools: list[BankTool], chat_pool: dict[str, list[tuple[str, str]]], seed: int = 0, mix: MixV3 | None = None) -> None:
        self.tools, self.chat_pool = tools, chat_pool
        self.rng = random.Random(seed)
        self.mix = mix or MixV3()
        self.pyfuncs = [f for f in load_pyfuncs() if f.name not in ON_BENCHMARK]
        self.knowledge = load_knowledge()
        self.by_domain: dict[str, list[BankTool]] = {}
        for t in tools:
            self.by_domain.setdefault(t.domain, []).append(t)
        self.links = [(a, b, link) for a in tools for b in tools if (link := chain_link(a, b))]
        self.topical = topical_tools(tools)
        self.kinds: Counter[str] = Counter()
        self._group: _ToolList | None = None  # the tool list the next per_tool_list - 1 samples reuse
        self._left = 0

    def _offer(self, targets: list[Any], pool: list[Any], same: list[Any]) -> list[Any]:
        """Targets plus distractors: none (a single offered tool, as many real requests), a few,
        or 8–12 with near-neighbours from the same domain or module."""
        rng = self.rng
        n = rng.choice([0, 0, 1, 2, 3, 4, 6, 8, 10])
        out = list(targets)
        for _ in range(n * 4):
            if len(out) >= len(targets) + n:
                break
            cand = rng.choice(same if same and rng.random() < 0.5 else pool)
            if all(cand.name != t.name for t in out):
                out.append(cand)
        rng.shuffle(out)
        return out

    def _text_episode(self, kind: str, lang: str, offered: list[BankTool]) -> Episode | None:
        rng = self.rng
        if kind == "knowledge" and self.knowledge[lang]:
            q, a = rng.choice(self.knowledge[lang])
            return Episode(q, [], a, kind="knowledge")
        if kind == "chat":
            return chat(self.chat_pool[lang], rng)
        if kind == "no_fit" and offered:
            domains, names = {t.domain for t in offered}, {t.name for t in offered}
            near = [t for t in self.tools if t.domain in domains and t.name not in names]
            absent = near if near and rng.random() < self.mix.near_no_fit else [t for t in self.tools if t.domain not in domains]
            return no_fit(rng.choice(absent), offered, lang, rng) if absent else None
        return None

    def _topical(self, lang: str) -> tuple[Episode | None, list[BankTool]]:
        """A knowledge question with the tools of its topic, as often as the mix says."""
        rng = self.rng
        if not self.knowledge[lang] or rng.random() >= self.mix.topical_knowledge:
            return None, []
        q, a = rng.choice(self.knowledge[lang])
        near = self.topical.get(q, [])
        return (Episode(q, [], a, kind="knowledge"), near) if near else (None, [])

    def _python_sample(self, kind: str, lang: str) -> tuple[Sample, list[str]] | None:
        rng = self.rng
        if kind == "python_no_fit":
            return self._py_no_fit()
        fn = rng.choice(self.pyfuncs)
        same = [f for f in self.pyfuncs if f.module == fn.module]
        offered = self._offer([fn], self.pyfuncs, same)
        if kind == "python_parallel":
            ep = self._py_parallel(fn, lang)
        else:
            found = py_episode(fn, rng, lang)
            ep = found[0] if found else None
        if ep is None:
            return None
        episodes = [ep]
        if rng.random() < 0.3 and (extra := self._text_episode(rng.choice(["knowledge", "chat"]), lang, [])):
            episodes.append(extra)
        return self._assemble(episodes, [f.spec() for f in offered], self._system(lang)), [e.kind for e in episodes]

    def _py_no_fit(self) -> tuple[Sample, list[str]] | None:
        """A math request (English: the Chinese python requests name their function) beside 1-3
        other math functions that cannot do it; the reply says so instead of forcing a call."""
        rng = self.rng
        maths = [f for f in self.pyfuncs if f.module == "math"]
        fn = rng.choice(maths)
        short = fn.name.split(".")[-1]
        mates = set().union(*(g for g in SAME_JOB if short in g)) | {short}
        others = [f for f in maths if f.name.split(".")[-1] not in mates]
        found = py_episode(fn, rng, "en")
        if found is None:
            return None
        offered = rng.sample(others, rng.choice([1, 1, 1, 2, 3]))
        reply = cannot([(f.name, first_sentence(f.description)) for f in offered], "en", rng)
        ep = Episode(found[0].question, [], reply, kind="no_fit")
        return self._assemble([ep], [f.spec() for f in offered], self._system("en")), [ep.kind]

    def _lookup_sample(self, lang: str) -> tuple[Sample, list[str]]:
        """A look-up with a search tool among bank distractors; a second turn is another look-up or
        a bank request — never a chat-pool turn, which holds knowledge questions ("What is
        photosynthesis?") answered without the search tool that is on offer."""
        rng = self.rng
        tool = pick_tool(lang, rng)
        offered = self._offer([tool], self.tools, [])
        episodes = [lookup(tool, lang, rng, self.knowledge[lang])]
        bank = [t for t in offered if isinstance(t, BankTool)]
        extra = rng.choice(["none", "none", "lookup", "bank"])
        if extra == "lookup" and (again := lookup(tool, lang, rng, self.knowledge[lang])).question != episodes[0].question:
            episodes.append(again)
        elif extra == "bank" and bank:
            episodes.append(composed_single(rng.choice(bank), lang, rng))
        rng.shuffle(episodes)
        return self._assemble(episodes, [t.spec(lang) for t in offered], self._system(lang)), [e.kind for e in episodes]

    def _py_parallel(self, fn: PyFunc, lang: str) -> Episode | None:
        rng = self.rng
        if len(fn.required) != 1 or fn.vararg:
            return None
        calls, seen = [], set()
        for _ in range(rng.choice([2, 3, 4]) * 3):
            found = py_call(fn, rng)
            if found and (key := json.dumps(found[0], sort_keys=True)) not in seen:
                seen.add(key)
                calls.append(Call(fn, found[0], {"result": found[1]}))  # type: ignore[arg-type]
            if len(calls) == 4:
                break
        if len(calls) < 2:
            return None
        p = fn.required[0]
        vals = [json.dumps(c.args[p], ensure_ascii=False) if not isinstance(c.args[p], (int, float)) else str(c.args[p]) for c in calls]
        listed = (", ".join(vals[:-1]) + " and " + vals[-1]) if lang == "en" else "、".join(vals)
        verb = (None if needs_verb(fn.description) else "") if lang == "en" else None
        q = compose(intent(fn.description, "en") if lang == "en" else f"用{fn.name}分别计算", [(words(p), listed)], lang, rng, verb)
        answer = " ".join(rng.choice(RESULT_ANSWER[lang]).format(r=json.dumps(c.result["result"], ensure_ascii=False), name=fn.name) for c in calls)
        return Episode(q, [calls], answer, kind="parallel")

    def _bank_episode(self, kind: str, offered: list[BankTool], target: BankTool, lang: str) -> Episode | None:
        rng = self.rng
        if kind == "composed":
            return composed_single(target, lang, rng)
        if kind == "template":
            return single(target, lang, rng)
        if kind == "respectively":
            return respectively(target, lang, rng)
        if kind == "pair":
            return parallel(target, rng.choice(offered), lang, rng)
        if kind == "ask":
            return ask_missing(target, lang, rng)
        return self._text_episode(kind, lang, offered)

    def _system(self, lang: str) -> str | None:
        rng = self.rng
        return rng.choice(SYSTEMS[lang]) if rng.random() < 0.25 else None

    def _assemble(self, episodes: list[Episode], tools: list[dict[str, Any]], system: str | None) -> Sample:
        msgs: list[Message] = [Message("system", system)] if system else []
        ids = [0]
        for ep in episodes:
            msgs += ep.messages(ids)
        self.kinds.update(e.kind for e in episodes)
        return Sample(msgs, tools)

    def sample(self) -> tuple[Sample, list[str], str]:
        """One sample: (canonical sample, episode kinds, language)."""
        rng, mix = self.rng, self.mix
        if self._left > 0 and self._group is not None:
            self._left -= 1
            return self._again(self._group)
        lang = "zh" if rng.random() < mix.zh else "en"
        names, weights = mix.kinds()
        while True:
            kind = rng.choices(names, weights)[0]
            if kind == "lookup":
                return (*self._lookup_sample(lang), lang)
            if kind.startswith("python"):
                plang = "en" if kind == "python_no_fit" or rng.random() < 0.85 else lang
                found = self._python_sample(kind, plang)
                if found:
                    return found[0], found[1], plang
                continue
            if kind == "chain" and self.links:
                a, b, link = rng.choice(self.links)
                offered = self._offer([a, b], self.tools, self.by_domain.get(a.domain, []))
                first = chain(a, b, link, lang, rng)
            else:
                first, near = self._topical(lang) if kind == "knowledge" else (None, [])
                target = rng.choice(near or self.tools)
                offered = self._offer([target], self.tools, near or self.by_domain.get(target.domain, []))
                first = first or self._bank_episode(kind, offered, target, lang)
            if first is None:
                continue
            episodes = self._more_turns(first, offered, lang)
            desc_lang = lang if lang == "en" or rng.random() < 0.75 else "en"
            group = _ToolList(offered, lang, desc_lang, self._system(lang))
            if mix.per_tool_list > 1:  # one seed restyles every sample of the list the same way
                group.restyle_seed = rng.random() if rng.random() < mix.restyled else None
                self._group, self._left = group, mix.per_tool_list - 1
                return self._over(group, episodes)
            sample = self._assemble(episodes, [t.spec(desc_lang) for t in offered], group.system)
            if rng.random() < mix.restyled:
                sample = restyle(sample, rng, {t.name: t.domain for t in offered})
            return sample, [e.kind for e in episodes], lang

    def _more_turns(self, first: Episode, offered: list[BankTool], lang: str) -> list[Episode]:
        rng = self.rng
        names, weights = self.mix.kinds()
        episodes = [first]
        for _ in range(rng.choice([0, 0, 1, 1, 2])):  # more turns over the same tools
            k = rng.choices(names, weights)[0]
            if k.startswith("python") or k in ("chain", "lookup"):
                continue
            if (ep := self._bank_episode(k, offered, rng.choice(offered), lang)) is not None:
                episodes.append(ep)
        rng.shuffle(episodes)
        return episodes

    def _over(self, group: _ToolList, episodes: list[Episode]) -> tuple[Sample, list[str], str]:
        sample = self._assemble(episodes, [t.spec(group.desc_lang) for t in group.offered], group.system)
        if group.restyle_seed is not None:
            sample = restyle(sample, random.Random(group.restyle_seed), {t.name: t.domain for t in group.offered})
        return sample, [e.kind for e in episodes], group.lang

    def _again(self, group: _ToolList) -> tuple[Sample, list[str], str]:
        """A further sample over the current tool list (MixV3.per_tool_list)."""
        rng = self.rng
        names, weights = self.mix.kinds()
        while True:
            kind = rng.choices(names, weights)[0]
            if kind.startswith("python") or kind in ("chain", "lookup"):
                continue
            first = self._bank_episode(kind, group.offered, rng.choice(group.offered), group.lang)
            if first is not None:
                return self._over(group, self._more_turns(first, group.offered, group.lang))


@dataclass
class _ToolList:
    offered: list[BankTool]
    lang: str
    desc_lang: str
    system: str | None
    restyle_seed: float | None = None
