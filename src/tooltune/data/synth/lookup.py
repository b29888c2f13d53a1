"""Look-ups with a search tool offered: the question goes to the search tool and the answer is read
from its result.

This is the boundary beside two other kinds of recipe v3: `knowledge` (no search tool offered:
answer from what the model knows) and `no_fit` (an action no offered tool can do: say so). Without
it, v2 and v3 refused "What is the population of Paris?" even with `web_search` offered, since no
bank tool searches the web. Search tools here are written the way real APIs write them: tooltune's
own built-in `web_search` verbatim (what `tooltune run` offers) plus variants in the styles of
public web-search and wiki APIs, with `query`, `q`, `keywords` or `question` parameters.

Results are simulated, as every bank tool's are. The places and facts that the shipped search
documents hold (tools/docs: Paris, Tokyo, Beijing, Shanghai, Everest, the Moon, light) are never
asked, because the multi-step set (benchmarks/data/multistep_tasks.jsonl) searches those.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from tooltune.data.synth.dialogues import Call, Episode

BUILTIN = {"name": "web_search", "description": "Search the web (or a local document folder) for information.",
           "parameters": {"type": "object", "properties": {
               "query": {"type": "string", "description": "What to look for, in a few keywords."},
               "top_k": {"type": "integer", "description": "How many passages to return (1-10).", "default": 3}},
               "required": ["query"]}}


@dataclass
class SearchTool:
    """A search tool's spec; `param` takes the query, `keywords` says whether it wants keywords
    (most search APIs) or the whole question (a question-answering endpoint)."""

    name: str
    description: str
    param: str
    keywords: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # optional parameters, never filled

    def spec(self, lang: str = "en") -> dict[str, Any]:
        if self.name == BUILTIN["name"]:
            return {"type": "function", "function": BUILTIN}
        props = {self.param: {"type": "string", "description": "Search query." if self.keywords else "The question to answer."}, **self.extra}
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                  "parameters": {"type": "object", "properties": props, "required": [self.param]}}}


SEARCH_TOOLS = [
    SearchTool("web_search", BUILTIN["description"], "query"),
    SearchTool("search_web", "Searches the internet and returns the top results.", "q", extra={"num_results": {"type": "integer"}}),
    SearchTool("google_search", "Custom Search JSON API: web results for a search query. Returns title, link and snippet per item.", "q",
               extra={"num": {"type": "integer", "description": "Number of results (1-10)"}, "lr": {"type": "string", "description": "Language restrict, e.g. lang_en"}}),
    SearchTool("bing.webSearch", "Bing Web Search", "q", extra={"count": {"type": "string"}, "mkt": {"type": "string", "description": "Market code like en-US"}}),
    SearchTool("wikipedia_search", "Search Wikipedia and return article summaries.", "query",
               extra={"language": {"type": "string", "enum": ["en", "zh", "de", "fr"]}, "limit": {"type": "integer"}}),
    SearchTool("searchDocs", "Full-text search over the documentation index", "keywords"),
    SearchTool("kb_lookup", "Answers factual questions from the knowledge base.", "question", keywords=False),
    SearchTool("baidu_search", "百度网页搜索，返回相关网页摘要。", "query", extra={"rn": {"type": "integer", "description": "返回条数"}}),
]

# Places the shipped search documents hold are left out (the multi-step set asks them).
CITIES = {"en": ["Berlin", "Madrid", "Rome", "Seoul", "Cairo", "Mumbai", "Lisbon", "Vienna", "Dublin", "Oslo", "Prague", "Nairobi", "Lima", "Toronto"],
          "zh": ["广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆", "苏州", "天津"]}
LIVE = {"en": [("What is the population of {x}?", "{x} has a population of about {n} million people ({y} estimate).",
                "{x} has about {n} million inhabitants, according to {src}."),
               ("Who is the mayor of {x} right now?", "The current mayor of {x} is {p}, in office since {y}.", "The mayor of {x} is {p} (since {y})."),
               ("How tall is the tallest building in {x}?", "The tallest building in {x} is {m} metres high.", "It is {m} metres tall."),
               ("When was {x} founded?", "{x} was founded around the year {f}.", "{x} was founded around {f}.")],
        "zh": [("{x}的人口是多少？", "{x}常住人口约{n}百万（{y}年统计）。", "根据{src}，{x}常住人口约{n}百万。"),
               ("{x}现在的市长是谁？", "{x}现任市长是{p}，{y}年上任。", "{x}现任市长是{p}（{y}年起）。"),
               ("{x}最高的建筑有多高？", "{x}最高的建筑高{m}米。", "{x}最高的建筑高{m}米。")]}
DOCS_FACTS = re.compile(r"\b(light|moon|everest|paris|tokyo|beijing|shanghai)\b|珠穆朗玛|月球|光速|北京|上海", re.I)
PEOPLE = {"en": ["Maria Keller", "Jonas Berg", "Ana Costa", "Omar Haddad", "Lena Novak"], "zh": ["李明", "王强", "陈芳", "刘波", "赵磊"]}
LEAD = re.compile(r"^(can you tell me|do you know|please tell me|tell me|i wonder)\s+", re.I)
WHAT = re.compile(r"^(what|who|which) (is|are|was|were) (the )?", re.I)


def keywords(question: str, lang: str) -> str:
    """A search query from a question, as the built-in's "in a few keywords" asks:
    "What is the population of Berlin?" -> "population of Berlin"."""
    q = question.strip().rstrip("?？。.!！ ")
    if lang == "zh":
        return re.sub(r"^(请问|你知道|告诉我)", "", q)
    q = LEAD.sub("", q)
    rest = WHAT.sub("", q)
    return rest if rest != q and len(rest.split()) >= 2 else q


def _result(tool: SearchTool, source: str, text: str) -> dict[str, Any]:
    """The result in the shape this kind of API returns."""
    if tool.name == "web_search":
        return {"results": [{"source": source, "text": text}]}
    if tool.name == "kb_lookup":
        return {"answer": text, "source": source}
    return {"items": [{"title": source, "snippet": text}]}


def lookup(tool: SearchTool, lang: str, rng: random.Random, knowledge: list[tuple[str, str]]) -> Episode:
    """One look-up: a live-data question (values made up, like every simulated result) or an
    English knowledge question whose distilled answer is what the search returns (the Chinese
    distilled answers are too often not Chinese to be shown as a source)."""
    knowledge = [(q, a) for q, a in knowledge if lang == "en" and not DOCS_FACTS.search(q) and not re.search(r"\d", q)]  # sums: a calculator's
    if knowledge and rng.random() < 0.4:
        question, text = rng.choice(knowledge)
        source = "encyclopedia.example.org" if lang == "en" else "百科"
        answer = text
    else:
        q_t, text_t, answer_t = rng.choice(LIVE[lang])
        source = rng.choice(["cityfacts.example.com", "news.example.org", "wiki.example.net"]) if lang == "en" else rng.choice(["城市年鉴", "新闻网"])
        values = {"x": rng.choice(CITIES[lang]), "n": round(rng.uniform(0.5, 15), 1), "y": rng.randint(2019, 2025), "p": rng.choice(PEOPLE[lang]),
                  "m": rng.randint(120, 600), "f": rng.randint(800, 1700), "src": source}
        question, text, answer = (t.format(**values) for t in (q_t, text_t, answer_t))
    args = {tool.param: keywords(question, lang) if tool.keywords else question}
    return Episode(question, [[Call(tool, args, _result(tool, source, text))]], answer, kind="lookup")  # type: ignore[arg-type]


def pick_tool(lang: str, rng: random.Random) -> SearchTool:
    """The built-in half the time (what `tooltune run` users get), else a variant; the
    Chinese-described one only for Chinese questions."""
    if rng.random() < 0.5:
        return SEARCH_TOOLS[0]
    return rng.choice([t for t in SEARCH_TOOLS[1:] if lang == "zh" or not t.name.startswith("baidu")])
