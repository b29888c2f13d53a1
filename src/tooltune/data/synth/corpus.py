"""Whole training samples and held-out eval items from the bank.

Mix (per episode, the defaults of `Mix`): single calls, parallel calls, two-step chains, asking
for a missing value, and about one in five hard negatives (no offered tool fits, or plain chat).
Each sample offers its target tools plus distractors — some from the same domain — in shuffled
order; a share has its names masked (Hammer) or its tools described again in another style.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tooltune.data.augment import STYLES, with_tool_style
from tooltune.data.synth.bank import BankTool, stable_fraction
from tooltune.data.synth.dialogues import (
    SYSTEMS, Episode, ask_missing, chain, chain_link, chat, load_chat, mask, no_fit, parallel, render_value, simulate, single,
)
from tooltune.messages import Message, Sample
from tooltune.tools import Tool, ToolRegistry


@dataclass
class Mix:
    single: float = 0.46
    parallel: float = 0.10
    chain: float = 0.07
    ask: float = 0.07
    no_fit: float = 0.12
    chat: float = 0.10
    zh: float = 0.35
    masked: float = 0.15
    styled: float = 0.05
    system: float = 0.25
    # Share of samples whose tool results are plain text (a bare value, or "name: value" lines)
    # instead of a JSON object: real tools often answer text, and an adapter that saw only JSON
    # words its answer badly from text. 0 draws nothing, so a seed's corpus is what it was.
    text_results: float = 0.0

    def kinds(self) -> tuple[list[str], list[float]]:
        names = ["single", "parallel", "chain", "ask", "no_fit", "chat"]
        return names, [getattr(self, n) for n in names]


def split_chat(held_out: float = 0.25) -> tuple[dict[str, list[tuple[str, str]]], dict[str, list[tuple[str, str]]]]:
    pools = load_chat()
    train = {lang: [qa for qa in p if stable_fraction(qa[0]) >= held_out] for lang, p in pools.items()}
    held = {lang: [qa for qa in p if stable_fraction(qa[0]) < held_out] for lang, p in pools.items()}
    return train, held


class Synth:
    """Draws samples from one side of the split (train or held-out tools and chat questions)."""

    def __init__(self, tools: list[BankTool], chat_pool: dict[str, list[tuple[str, str]]], seed: int = 0, mix: Mix | None = None) -> None:
        self.tools = tools
        self.chat_pool = chat_pool
        self.rng = random.Random(seed)
        self.mix = mix or Mix()
        self.by_domain: dict[str, list[BankTool]] = {}
        for t in tools:
            self.by_domain.setdefault(t.domain, []).append(t)
        self.links = [(a, b, link) for a in tools for b in tools if (link := chain_link(a, b))]
        self.kinds: Counter[str] = Counter()

    def distractors(self, targets: list[BankTool], n: int) -> list[BankTool]:
        rng, out = self.rng, []
        ids = {t.id for t in targets}
        for _ in range(n * 4):
            if len(out) == n:
                break
            same = self.by_domain.get(targets[0].domain, []) if targets and rng.random() < 0.4 else self.tools
            cand = rng.choice(same)
            if cand.id not in ids:
                ids.add(cand.id)
                out.append(cand)
        return out

    def episode(self, kind: str, offered: list[BankTool], lang: str) -> Episode | None:
        rng = self.rng
        if kind == "single":
            return single(rng.choice(offered), lang, rng)
        if kind == "parallel":
            a = rng.choice(offered)
            return parallel(a, a if rng.random() < 0.5 else rng.choice(offered), lang, rng)
        if kind == "ask":
            return ask_missing(rng.choice(offered), lang, rng)
        if kind == "no_fit":
            domains = {t.domain for t in offered}
            absent = [t for t in self.tools if t.domain not in domains]
            return no_fit(rng.choice(absent), offered, lang, rng, v2=True) if absent else None
        if kind == "chat":
            return chat(self.chat_pool[lang], rng)
        return None

    def sample(self, n_episodes: int | None = None) -> tuple[Sample, list[str], str]:
        """One sample: (canonical sample, episode kinds, language)."""
        rng, mix = self.rng, self.mix
        lang = "zh" if rng.random() < mix.zh else "en"
        n_episodes = n_episodes or rng.choice([1, 2, 2, 3])
        names, weights = mix.kinds()
        kinds = rng.choices(names, weights, k=n_episodes)
        episodes: list[Episode] = []
        offered: list[BankTool] = []
        if "chain" in kinds and self.links:
            a, b, link = rng.choice(self.links)
            offered += [a, b]
            episodes.append(chain(a, b, link, lang, rng))
            kinds.remove("chain")
        kinds = [k if k != "chain" else "single" for k in kinds]
        if not offered:
            offered.append(rng.choice(self.tools))
        offered += self.distractors(offered, rng.choice([0, 1, 1, 2, 2, 3]))
        for kind in kinds:
            ep = self.episode(kind, offered, lang) or single(rng.choice(offered), lang, rng)
            episodes.append(ep)
        rng.shuffle(episodes)
        self.kinds.update(e.kind for e in episodes)
        rng.shuffle(offered)
        desc_lang = lang if lang == "en" or rng.random() < 0.75 else "en"
        msgs: list[Message] = [Message("system", rng.choice(SYSTEMS[lang]))] if rng.random() < mix.system else []
        ids = [0]
        as_text = mix.text_results > 0 and rng.random() < mix.text_results
        for ep in episodes:
            msgs += ep.messages(ids, lang if as_text else None)
        sample = Sample(msgs, [t.spec(desc_lang) for t in offered])
        if rng.random() < mix.masked:
            sample = mask(sample, rng)
        elif rng.random() < mix.styled:
            sample = with_tool_style(sample, rng.choice(list(STYLES)), lang)
        return sample, [e.kind for e in episodes], lang


def eval_items(tools: list[BankTool], chat_pool: dict[str, list[tuple[str, str]]], per_tool: int = 2, seed: int = 1,
               negatives: float = 0.2, parallel_share: float = 0.1) -> list[dict[str, Any]]:
    """Held-out eval items (one episode each) as JSONL rows: every tool asked in en and zh,
    some parallel requests, and hard negatives (no fitting tool, plain chat)."""
    synth = Synth(tools, chat_pool, seed)
    rng = synth.rng
    rows: list[dict[str, Any]] = []
    for i, tool in enumerate(tools):
        for j in range(per_tool):
            lang = "en" if j % 2 == 0 else "zh"
            offered = [tool] + synth.distractors([tool], rng.choice([1, 2, 3]))
            kind = "parallel" if rng.random() < parallel_share else "single"
            ep = synth.episode(kind, offered, lang) if kind == "parallel" else single(tool, lang, rng)
            rows.append(_item(f"{tool.id}-{lang}-{j}", ep, offered, lang, rng))
    n_neg = round(len(rows) * negatives / (1 - negatives))
    for k in range(n_neg):
        lang = "en" if k % 2 == 0 else "zh"
        offered = rng.sample(tools, rng.choice([2, 3, 4]))
        ep = synth.episode("no_fit" if k % 3 != 2 else "chat", offered, lang)
        if ep is not None:
            rows.append(_item(f"neg-{ep.kind}-{lang}-{k}", ep, offered, lang, rng))
    rng.shuffle(rows)  # so that evaluating the first N items still mixes tools, languages and negatives
    return rows


def _item(item_id: str, ep: Episode, offered: list[BankTool], lang: str, rng: random.Random) -> dict[str, Any]:
    rng.shuffle(offered)
    sample = Sample(ep.messages([0]), [t.spec(lang) for t in offered])
    row: dict[str, Any] = {"id": item_id, "lang": lang, "kind": ep.kind, "expect_tool_call": ep.calls_tool, **sample.to_openai()}
    if ep.steps:
        last = ep.steps[-1][-1]
        found = [render_value(v, lang) for v in last.result.values() if render_value(v, lang) in ep.answer and len(render_value(v, lang)) > 1]
        if found:
            row["reference_answer"] = max(found, key=len)
    return row


def simulated_registry(tools: list[BankTool]) -> ToolRegistry:
    """Executable stand-ins for bank tools (the same deterministic results training saw)."""
    def bind(tool: BankTool):
        return lambda **kwargs: simulate(tool, kwargs)

    return ToolRegistry([Tool.from_openai(t.spec("en"), func=bind(t)) for t in tools])
