"""Argument values from a JSON Schema alone, each with the words a person would use for it.

Specialisation has no hand-written templates for the user's tools: a parameter's *kind* (a time
zone, a repository path, a branch, a commit message, a city, a date, a count…) is read from its
schema (enum, format, bounds, type), its name and its description, in English or Chinese. A
value is drawn for that kind and comes with its *surface*: how a request states it — "Tokyo" for
"Asia/Tokyo", "March 5, 2026" for "2026-03-05", "five" for 5, a message in quotes, 男声 for the
enum value its description glosses as 男声 — so the model learns to turn what people say into
the exact argument the schema asks for. Examples a description names ("e.g. 'Europe/London'")
join the pool. `held` picks one side of a stable split of every pool: the held-out evaluation
asks for values the training side never stated.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from tooltune.data.synth.bank import stable_fraction
from tooltune.data.synth.realistic import words
from tooltune.data.synth.values import _P

HELD_SHARE = 0.2
NUMBER_WORDS = {"en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"],
                "zh": ["零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十"]}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
# IANA zone -> how people name it (en, zh)
ZONES = {
    "Asia/Tokyo": (["Tokyo", "Japan", "Osaka"], ["东京", "日本"]), "Asia/Shanghai": (["Shanghai", "Beijing", "China"], ["上海", "北京", "中国"]),
    "Asia/Hong_Kong": (["Hong Kong"], ["香港"]), "Asia/Singapore": (["Singapore"], ["新加坡"]), "Asia/Seoul": (["Seoul", "Korea"], ["首尔", "韩国"]),
    "Asia/Kolkata": (["Mumbai", "India", "New Delhi"], ["孟买", "印度"]), "Asia/Dubai": (["Dubai"], ["迪拜"]), "Asia/Bangkok": (["Bangkok"], ["曼谷"]),
    "Asia/Jakarta": (["Jakarta"], ["雅加达"]), "Asia/Taipei": (["Taipei"], ["台北"]), "Asia/Manila": (["Manila"], ["马尼拉"]),
    "Europe/London": (["London", "the UK"], ["伦敦", "英国"]), "Europe/Paris": (["Paris", "France"], ["巴黎", "法国"]),
    "Europe/Berlin": (["Berlin", "Germany"], ["柏林", "德国"]), "Europe/Madrid": (["Madrid", "Spain"], ["马德里"]), "Europe/Rome": (["Rome", "Italy"], ["罗马"]),
    "Europe/Moscow": (["Moscow"], ["莫斯科"]), "Europe/Amsterdam": (["Amsterdam"], ["阿姆斯特丹"]), "Europe/Warsaw": (["Warsaw", "Poland"], ["华沙"]),
    "Europe/Istanbul": (["Istanbul"], ["伊斯坦布尔"]), "Europe/Lisbon": (["Lisbon"], ["里斯本"]), "Europe/Stockholm": (["Stockholm"], ["斯德哥尔摩"]),
    "America/New_York": (["New York", "NYC", "Boston"], ["纽约"]), "America/Los_Angeles": (["Los Angeles", "San Francisco", "Seattle"], ["洛杉矶", "旧金山"]),
    "America/Chicago": (["Chicago"], ["芝加哥"]), "America/Denver": (["Denver"], ["丹佛"]), "America/Toronto": (["Toronto"], ["多伦多"]),
    "America/Sao_Paulo": (["São Paulo", "Sao Paulo"], ["圣保罗"]), "America/Mexico_City": (["Mexico City"], ["墨西哥城"]),
    "Australia/Sydney": (["Sydney"], ["悉尼"]), "Australia/Melbourne": (["Melbourne"], ["墨尔本"]), "Pacific/Auckland": (["Auckland", "New Zealand"], ["奥克兰"]),
    "Africa/Cairo": (["Cairo", "Egypt"], ["开罗"]), "Africa/Johannesburg": (["Johannesburg"], ["约翰内斯堡"]), "Africa/Nairobi": (["Nairobi"], ["内罗毕"]),
    "UTC": (["UTC"], ["UTC"]),
}
POOLS: dict[str, dict[str, list[str]]] = {
    "repo_path": {"en": ["/home/me/projects/blog", "/home/dev/api-server", "~/code/tooltune", "/srv/git/website", "/Users/anna/work/mobile-app",
                         "/home/li/notes", "/opt/repos/billing", "~/src/dotfiles", "/var/www/shop", "/home/sam/ml-experiments", "./backend",
                         "/data/repos/infra", "~/workspace/game-engine", "/home/kim/thesis", "/Users/raj/dev/portfolio"]},
    "file_path": {"en": ["README.md", "src/main.py", "docs/index.md", "app/models/user.rb", "package.json", "tests/test_api.py", "config/settings.yaml",
                         "Makefile", "src/utils/helpers.ts", "CHANGELOG.md", "setup.cfg", "lib/parser.go", "index.html", "styles/main.css", "data/schema.sql"]},
    "branch": {"en": ["main", "develop", "feature/login-page", "fix/typo-readme", "release-2.1", "hotfix/payment-bug", "feature/dark-mode", "staging",
                      "experiment/new-parser", "docs/api-guide", "feature/search", "bugfix/crash-on-start", "refactor/db-layer", "v2-migration", "master"]},
    "message": {"en": ["Fix typo in README", "Add login page", "Update dependencies", "Refactor database layer", "Initial commit", "Bump version to 2.1.0",
                       "Remove unused imports", "Add tests for the parser", "Fix crash on startup", "Improve error messages", "Add dark mode toggle",
                       "Update API docs", "Handle empty input", "Speed up search", "Clean up config files"],
                "zh": ["修复登录页面的问题", "更新依赖版本", "添加单元测试", "重构数据库模块", "初始提交", "修正文档错别字"]},
    "revision": {"en": ["HEAD", "HEAD~1", "HEAD~3", "a1b2c3d", "9f8e7d6", "v1.2.0", "3e4f5a6", "main", "origin/main", "e52b0c1", "v2.0.1", "4c7d9ab"]},
    "text": {"en": ["The meeting is moved to Friday at 3 pm.", "Thanks for your help with the report!", "Please review the attached draft.",
                    "Our flight lands at 6 in the evening.", "The new release fixes two security bugs.", "Welcome to the team, everyone!",
                    "A cat sitting on a windowsill at sunset", "The quarterly sales grew by twelve percent."],
             "zh": ["会议改到周五下午三点。", "谢谢你帮忙整理报告！", "请查看附件中的草稿。", "我们的航班晚上六点落地。", "新版本修复了两个安全漏洞。",
                    "欢迎大家加入团队！", "一只猫坐在窗台上看日落", "本季度销售额增长了百分之十二。"]},
    "location": {"en": _P["city"]["en"], "zh": ["北京市", "上海市", "杭州市", "成都市", "海淀区", "朝阳区", "浦东新区", "西湖区", "深圳市", "南京市", "武汉市", "天河区"]},
    "word": {"en": ["alpha", "reports", "inbox", "archive", "summer-sale", "q3-review", "default", "team-notes", "backup", "draft"]},
}
for _kind in ("city", "country", "person", "email", "url", "phone", "language", "currency", "company", "query", "keyword", "username", "product"):
    POOLS[_kind] = _P[_kind]
# (kind, words in a parameter's name or description that name it), first match wins
KIND_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("timezone", ("timezone", "time zone", "tz", "时区")), ("repo_path", ("repo path", "repository", "repo", "仓库")),
    ("revision", ("revision", "commit sha", "sha", "ref", "target", "commit")), ("branch", ("branch",)),
    ("datetime", ("timestamp", "datetime", "date time")),
    ("message", ("message", "commit message", "提交信息")), ("time", ("hh:mm", "time")),
    ("date", ("date", "日期", "day")), ("file_path", ("path", "file", "directory", "folder", "路径", "文件")),
    ("email", ("email", "e-mail", "邮箱")), ("url", ("url", "link", "网址", "链接")), ("phone", ("phone", "电话", "手机")),
    ("currency", ("currency", "quote", "货币", "币种")), ("city", ("city", "城市")), ("location", ("location", "place", "地点", "位置", "地区")),
    ("country", ("country", "国家")), ("language", ("language", "语言")), ("query", ("query", "search", "keyword", "关键词", "关键字", "搜索", "查询")),
    ("email", ("recipient",)), ("username", ("username", "user name", "login")), ("person", ("name", "author", "person", "姓名", "名字")),
    ("text", ("text", "content", "body", "prompt", "description", "input", "文本", "内容", "描述")),
]


@dataclass
class Drawn:
    value: Any
    surface: str  # how the request states it


def param_kind(name: str, schema: dict[str, Any]) -> str:
    """The kind of one parameter (module docstring)."""
    types = _types(schema)
    if "enum" in schema:
        return "enum"
    if types & {"integer", "number"} and not types & {"string"}:
        return "integer" if "integer" in types else "number"
    if "boolean" in types:
        return "boolean"
    if "array" in types:
        return "array"
    if "object" in types:
        return "object"
    fmt = schema.get("format", "")
    if fmt in ("date", "date-time", "time", "email", "uri", "url"):
        return {"date-time": "datetime", "uri": "url"}.get(fmt, fmt)
    text = f" {words(name)} "
    desc = " " + str(schema.get("description", "")).lower() + " "
    for kind, keys in KIND_WORDS:
        if any(_has(text, k) for k in keys):
            return kind
    for kind, keys in KIND_WORDS:
        if any(_has(desc, k) for k in keys):
            return kind
    return "word"


def _has(text: str, key: str) -> bool:
    if re.search(r"[\u4e00-\u9fff]", key):
        return key in text
    return re.search(rf"(?<![a-z]){re.escape(key)}(?:s|es)?(?![a-z])", text) is not None


def _types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema admits, through anyOf/oneOf (MCP servers write `str | None`)."""
    t = schema.get("type")
    found = set(t) if isinstance(t, list) else ({t} if t else set())
    for sub in schema.get("anyOf", []) + schema.get("oneOf", []):
        if isinstance(sub, dict):
            found |= _types(sub)
    return (found - {"null"}) or ({"string"} if not found else found)


def described_examples(schema: dict[str, Any]) -> list[str]:
    """Values a description names as examples: e.g. 'America/New_York', 如`海淀区`, such as "x"."""
    desc = str(schema.get("description", ""))
    found = re.findall(r"['\"`‘“「]([^'\"`’”」]{1,60})['\"`’”」]", desc)
    examples = [e for e in found if not re.search(r"\s{2,}", e)] + list(schema.get("examples", []) or [])
    return [str(e) for e in examples if str(e).strip()]


def enum_glosses(schema: dict[str, Any]) -> dict[str, str]:
    """Enum value -> the words its description explains it with: "zhizhe_emo（男声）" -> 男声."""
    desc = str(schema.get("description", ""))
    out = {}
    for value in schema.get("enum", []):
        m = re.search(re.escape(str(value)) + r"\s*[（(]([^）)]{1,20})[）)]", desc)
        if m:
            out[str(value)] = m.group(1)
    return out


def _side(rng: random.Random, pool: list[Any], held: bool, kind: str) -> Any:
    """A pool member from one side of the stable split (either side when that side is empty)."""
    side = [v for v in pool if (stable_fraction(f"{kind}:{v}") < HELD_SHARE) == held]
    return rng.choice(side or pool)


def draw(name: str, schema: dict[str, Any], lang: str, rng: random.Random, held: bool = False) -> Drawn:
    """A value for parameter `name` and how a request says it (module docstring)."""
    kind = param_kind(name, schema)
    if kind == "enum":
        value = _side(rng, list(schema["enum"]), held, kind) if len(schema["enum"]) > 3 else rng.choice(schema["enum"])
        gloss = enum_glosses(schema).get(str(value))
        return Drawn(value, gloss if gloss and rng.random() < 0.7 else str(value))
    if kind in ("integer", "number"):
        return _number(schema, kind, lang, rng)
    if kind == "boolean":
        value = rng.random() < 0.5
        return Drawn(value, ("yes" if value else "no") if lang == "en" else ("是" if value else "否"))
    if kind == "array":
        return _array(name, schema, lang, rng, held)
    if kind == "object":
        props = schema.get("properties", {})
        parts = {k: draw(k, s, lang, rng, held) for k, s in props.items() if k in schema.get("required", []) or rng.random() < 0.4}
        return Drawn({k: d.value for k, d in parts.items()}, ", ".join(f"{words(k)} {d.surface}" for k, d in parts.items()))
    return _string(kind, schema, lang, rng, held)


def _number(schema: dict[str, Any], kind: str, lang: str, rng: random.Random) -> Drawn:
    low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
    high = schema.get("maximum", schema.get("exclusiveMaximum", max(low, 0) + 50) - (1 if "exclusiveMaximum" in schema else 0))
    if kind == "integer":
        value: Any = rng.randint(int(low), int(max(low, high)))
        if 0 <= value <= 10 and rng.random() < 0.35:
            return Drawn(value, NUMBER_WORDS[lang][value])
        return Drawn(value, str(value))
    value = round(rng.uniform(float(low), float(high)), rng.choice([0, 1, 2]))
    value = int(value) if float(value).is_integer() and rng.random() < 0.5 else value
    return Drawn(value, str(value))


def _array(name: str, schema: dict[str, Any], lang: str, rng: random.Random, held: bool) -> Drawn:
    items = schema.get("items") if isinstance(schema.get("items"), dict) else {"type": "string"}
    item_name = name[:-1] if name.endswith("s") else name
    n = rng.choice([1, 1, 2, 2, 3])
    drawn: list[Drawn] = []
    for _ in range(n * 4):
        d = draw(item_name, items, lang, rng, held)
        if all(d.value != e.value for e in drawn):
            drawn.append(d)
        if len(drawn) == n:
            break
    surfaces = [d.surface for d in drawn]
    joined = "、".join(surfaces) if lang == "zh" else (surfaces[0] if len(surfaces) == 1 else ", ".join(surfaces[:-1]) + " and " + surfaces[-1])
    return Drawn([d.value for d in drawn], joined)


def _string(kind: str, schema: dict[str, Any], lang: str, rng: random.Random, held: bool) -> Drawn:
    if kind == "timezone":
        zone = _side(rng, list(ZONES), held, kind)
        names = ZONES[zone][0 if lang == "en" else 1]
        return Drawn(zone, zone if rng.random() < 0.35 else rng.choice(names))
    if kind == "date":
        return _date(lang, rng, held)
    if kind == "datetime":
        d = _date(lang, rng, held)
        hour = rng.randint(7, 20)
        return Drawn(f"{d.value}T{hour:02d}:00:00", f"{d.surface} {hour:02d}:00")
    if kind == "time":
        hour, minute = rng.randint(0, 23), rng.choice([0, 15, 30, 45])
        value = f"{hour:02d}:{minute:02d}"
        if lang == "en" and rng.random() < 0.4 and hour:
            return Drawn(value, f"{(hour - 1) % 12 + 1}:{minute:02d} {'pm' if hour >= 12 else 'am'}")
        return Drawn(value, value)
    pool = POOLS.get(kind, POOLS["word"])
    desc = str(schema.get("description", ""))
    if kind == "text" and re.search(r"英文|English|中文|Chinese", desc):  # text in the language the tool reads
        lang = "en" if re.search(r"英文|English", desc) else "zh"
    values = pool.get(lang) or pool.get("en") or []
    examples = described_examples(schema)
    if examples and rng.random() < (0.8 if len(examples) > 1 else 0.3):  # a description that lists values names the choices
        values = examples
    value = _side(rng, list(values), held, kind)
    return Drawn(value, _quoted(kind, value, lang, rng))


def _quoted(kind: str, value: str, lang: str, rng: random.Random) -> str:
    """Free text is quoted, as people quote a message they want written; paths and names sometimes."""
    if kind in ("message", "text") or (kind in ("query", "keyword", "word") and rng.random() < 0.5):
        return rng.choice(['"{}"', "'{}'"] if lang == "en" else ["“{}”", "「{}」", '"{}"']).format(value)
    if kind in ("repo_path", "file_path", "branch", "revision") and rng.random() < 0.25:
        return rng.choice(["`{}`", '"{}"']).format(value)
    return value


def _date(lang: str, rng: random.Random, held: bool) -> Drawn:
    for _ in range(50):  # a date on this side of the split
        year, month, day = rng.choice([2025, 2026, 2027]), rng.randint(1, 12), rng.randint(1, 28)
        value = f"{year}-{month:02d}-{day:02d}"
        if (stable_fraction(f"date:{value}") < HELD_SHARE) == held:
            break
    if lang == "zh":
        return Drawn(value, rng.choice([value, f"{year}年{month}月{day}日"]))
    return Drawn(value, rng.choice([value, f"{MONTHS[month - 1]} {day}, {year}", f"{day} {MONTHS[month - 1]} {year}"]))
