"""Argument values for synthetic tool calls: one pool per parameter *kind*, in English and Chinese.

The schema bank names a kind for every parameter (`city`, `date`, `integer`…); a value is drawn
from the kind's pool in the question's language, so a Chinese question says 北京 and the call
carries "北京" — the model learns to copy what the user said into the arguments, whatever the tool.
`render_value` writes a value the way a person would say it inside a question.
"""

from __future__ import annotations

import random
import string
from typing import Any

from tooltune.errors import TooltuneError

_P: dict[str, dict[str, list[str]]] = {
    "city": {"en": ["Paris", "Tokyo", "New York", "London", "Berlin", "Sydney", "Toronto", "Madrid", "Rome", "Seoul", "Cairo",
                    "Mumbai", "Chicago", "Lisbon", "Vienna", "Dublin", "Austin", "Denver", "Oslo", "Prague", "Nairobi", "Lima"],
             "zh": ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆", "苏州", "天津", "厦门", "青岛", "长沙", "昆明"]},
    "country": {"en": ["France", "Japan", "Brazil", "Canada", "Germany", "India", "Kenya", "Mexico", "Norway", "Spain", "Italy", "Egypt"],
                "zh": ["中国", "日本", "法国", "德国", "美国", "英国", "巴西", "印度", "加拿大", "澳大利亚", "意大利", "韩国"]},
    "person": {"en": ["Alice Johnson", "Bob Smith", "Carlos Diaz", "Diana Chen", "Ethan Brown", "Fatima Ali", "George Miller",
                      "Hannah Lee", "Ivan Petrov", "Julia Rossi", "Kevin Park", "Laura Garcia"],
               "zh": ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴婷", "徐明", "孙丽"]},
    "email": {"en": ["alice@example.com", "bob.smith@mail.com", "team@acme.io", "j.rossi@example.org", "support@shop.net", "kpark@corp.com"],
              "zh": ["zhangwei@example.com", "wangfang@163.com", "lina@qq.com", "service@shop.cn", "liuyang@corp.cn"]},
    "phone": {"en": ["+1 415 555 0132", "+44 20 7946 0958", "+1 212 555 0199", "+33 1 42 68 53 00"],
              "zh": ["13812345678", "13987654321", "15011112222", "18600001234"]},
    "url": {"en": ["https://example.com", "https://news.example.org/today", "https://shop.example.net/item/42", "https://blog.example.io"],
            "zh": ["https://www.example.cn", "https://news.example.cn/today", "https://shop.example.cn/item/42"]},
    "language": {"en": ["French", "Spanish", "German", "Japanese", "Chinese", "Italian", "Korean", "Portuguese"],
                 "zh": ["英语", "法语", "日语", "德语", "西班牙语", "韩语", "俄语"]},
    "currency": {"en": ["USD", "EUR", "JPY", "GBP", "CNY", "CAD", "AUD", "CHF"], "zh": ["USD", "EUR", "JPY", "GBP", "CNY", "HKD"]},
    "ticker": {"en": ["AAPL", "MSFT", "TSLA", "AMZN", "NVDA", "GOOGL", "META", "NFLX"], "zh": ["AAPL", "BABA", "TSLA", "NVDA", "600519", "000001"]},
    "company": {"en": ["Acme Corp", "Globex", "Initech", "Umbrella Ltd", "Stark Industries", "Wayne Enterprises"],
                "zh": ["华为", "阿里巴巴", "腾讯", "小米", "比亚迪", "京东"]},
    "airport": {"en": ["JFK", "LAX", "LHR", "CDG", "NRT", "SFO", "FRA", "SYD"], "zh": ["PEK", "PVG", "CAN", "SZX", "CTU", "HGH"]},
    "flight_number": {"en": ["UA 857", "BA 283", "AF 66", "DL 405", "LH 441"], "zh": ["CA1831", "MU5101", "CZ3101", "HU7601"]},
    "address": {"en": ["221B Baker Street, London", "1600 Amphitheatre Parkway, Mountain View", "350 Fifth Avenue, New York", "10 Downing Street, London"],
                "zh": ["北京市朝阳区建国路88号", "上海市浦东新区世纪大道100号", "广州市天河区体育西路1号", "杭州市西湖区文三路90号"]},
    "zipcode": {"en": ["94103", "10001", "60614", "73301", "02139"], "zh": ["100020", "200120", "510620", "310012"]},
    "product": {"en": ["wireless headphones", "running shoes", "coffee maker", "laptop stand", "yoga mat", "desk lamp", "water bottle"],
                "zh": ["无线耳机", "跑步鞋", "咖啡机", "笔记本支架", "瑜伽垫", "台灯", "保温杯"]},
    "color": {"en": ["red", "blue", "green", "black", "white", "yellow", "purple"], "zh": ["红色", "蓝色", "绿色", "黑色", "白色", "黄色"]},
    "movie": {"en": ["Inception", "The Matrix", "Interstellar", "Spirited Away", "The Godfather", "Parasite", "Up"],
              "zh": ["流浪地球", "霸王别姬", "让子弹飞", "千与千寻", "哪吒之魔童降世", "你好，李焕英"]},
    "song": {"en": ["Bohemian Rhapsody", "Imagine", "Hey Jude", "Shape of You", "Yesterday", "Hotel California"],
             "zh": ["月亮代表我的心", "青花瓷", "后来", "稻香", "晴天", "小幸运"]},
    "artist": {"en": ["Taylor Swift", "The Beatles", "Adele", "Ed Sheeran", "Beyonce", "Coldplay"], "zh": ["周杰伦", "邓紫棋", "王菲", "林俊杰", "陈奕迅", "蔡依林"]},
    "book": {"en": ["Dune", "1984", "Pride and Prejudice", "The Hobbit", "Sapiens", "Moby Dick"], "zh": ["三体", "活着", "红楼梦", "围城", "平凡的世界", "西游记"]},
    "genre": {"en": ["jazz", "rock", "comedy", "thriller", "science fiction", "pop", "drama"], "zh": ["爵士", "摇滚", "喜剧", "悬疑", "科幻", "流行"]},
    "team": {"en": ["Lakers", "Real Madrid", "Manchester United", "Yankees", "Golden State Warriors", "Bayern Munich"],
             "zh": ["广州恒大", "北京国安", "上海申花", "湖人队", "皇家马德里", "曼联"]},
    "sport": {"en": ["basketball", "football", "tennis", "baseball", "cricket", "golf"], "zh": ["篮球", "足球", "网球", "乒乓球", "羽毛球", "排球"]},
    "dish": {"en": ["lasagna", "pad thai", "chicken curry", "caesar salad", "pancakes", "beef stew"], "zh": ["宫保鸡丁", "麻婆豆腐", "红烧肉", "西红柿炒鸡蛋", "饺子", "酸菜鱼"]},
    "ingredient": {"en": ["tomatoes", "chicken", "rice", "garlic", "spinach", "eggs", "mushrooms", "tofu"], "zh": ["鸡蛋", "土豆", "牛肉", "豆腐", "西红柿", "青椒", "大米"]},
    "cuisine": {"en": ["Italian", "Mexican", "Thai", "Indian", "Japanese", "French"], "zh": ["川菜", "粤菜", "湘菜", "日料", "西餐", "东北菜"]},
    "text": {"en": ["The meeting is moved to Friday at 3 pm.", "Thanks for your help with the report!", "Happy birthday, have a great day!",
                    "Please review the attached draft.", "Our flight lands at 6 in the evening."],
             "zh": ["会议改到周五下午三点。", "谢谢你帮忙整理报告！", "生日快乐，祝你天天开心！", "请查看附件中的草稿。", "我们的航班晚上六点落地。"]},
    "query": {"en": ["best hiking trails", "electric cars under 30000", "how to learn guitar", "cheap flights to Rome", "vegan recipes"],
              "zh": ["周末徒步路线", "性价比高的电动车", "如何学吉他", "去三亚的便宜机票", "减脂食谱"]},
    "keyword": {"en": ["climate", "startup", "marathon", "AI", "vaccine", "election"], "zh": ["新能源", "人工智能", "马拉松", "高考", "疫苗", "春节"]},
    "username": {"en": ["alice_j", "bobsmith", "techguru42", "traveler_kate", "devmike"], "zh": ["xiaoming", "lily_wang", "coder_zhang", "panda88"]},
    "file_path": {"en": ["/home/user/report.pdf", "docs/notes.txt", "/var/log/app.log", "images/photo.png"],
                  "zh": ["/home/user/报告.pdf", "docs/笔记.txt", "/data/sales.csv", "images/合影.png"]},
    "timezone": {"en": ["Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"], "zh": ["Asia/Shanghai", "Asia/Tokyo", "Europe/London", "America/Los_Angeles"]},
    "hashtag": {"en": ["#travel", "#foodie", "#fitness", "#tech"], "zh": ["#旅行", "#美食", "#健身", "#科技"]},
    "job_title": {"en": ["data scientist", "software engineer", "product manager", "nurse", "graphic designer"], "zh": ["数据分析师", "软件工程师", "产品经理", "护士", "设计师"]},
    "skill": {"en": ["Python", "public speaking", "Excel", "photography", "negotiation"], "zh": ["Python", "演讲", "Excel", "摄影", "英语口语"]},
    "medicine": {"en": ["ibuprofen", "aspirin", "amoxicillin", "paracetamol", "loratadine"], "zh": ["布洛芬", "阿司匹林", "阿莫西林", "对乙酰氨基酚", "氯雷他定"]},
    "symptom": {"en": ["headache", "sore throat", "fever", "back pain", "cough"], "zh": ["头痛", "喉咙痛", "发烧", "腰疼", "咳嗽"]},
    "animal": {"en": ["dog", "cat", "rabbit", "parrot", "hamster"], "zh": ["狗", "猫", "兔子", "鹦鹉", "仓鼠"]},
    "device": {"en": ["living room lights", "thermostat", "air purifier", "front door lock", "robot vacuum"], "zh": ["客厅灯", "空调", "空气净化器", "门锁", "扫地机器人"]},
    "room": {"en": ["kitchen", "bedroom", "living room", "office", "garage"], "zh": ["厨房", "卧室", "客厅", "书房", "车库"]},
    "license_plate": {"en": ["7ABC123", "KX21 YZT", "NY 4821", "B-MW 1234"], "zh": ["京A12345", "沪B67890", "粤C24680", "浙A1B234"]},
    "event": {"en": ["team offsite", "jazz festival", "product launch", "book club meeting"], "zh": ["年会", "音乐节", "产品发布会", "读书会"]},
    "course": {"en": ["Intro to Statistics", "Machine Learning 101", "Spanish for Beginners", "Web Development Basics"],
               "zh": ["统计学入门", "机器学习基础", "初级日语", "网页开发入门"]},
    "subject": {"en": ["physics", "history", "chemistry", "biology", "economics"], "zh": ["物理", "历史", "化学", "生物", "经济学"]},
}


def _date(rng: random.Random) -> str:
    return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(6, 22):02d}:{rng.choice(['00', '15', '30', '45'])}"


def _id(rng: random.Random) -> str:
    prefix = rng.choice(["", "A", "ORD-", "U", "TK-", "INV-"])
    return prefix + "".join(rng.choice(string.digits) for _ in range(rng.randint(4, 7)))


_GENERATED = {
    "date": lambda rng, lang: _date(rng),
    "time": lambda rng, lang: _time(rng),
    "datetime": lambda rng, lang: f"{_date(rng)} {_time(rng)}",
    "year": lambda rng, lang: rng.randint(1990, 2026),
    "month": lambda rng, lang: f"2026-{rng.randint(1, 12):02d}",
    "id": lambda rng, lang: _id(rng),
    "latitude": lambda rng, lang: round(rng.uniform(-60, 70), 4),
    "longitude": lambda rng, lang: round(rng.uniform(-170, 170), 4),
    "boolean": lambda rng, lang: rng.random() < 0.5,
}

KINDS = sorted(set(_P) | set(_GENERATED) | {"integer", "number", "enum", "array", "object"})


def sample_value(param: dict[str, Any], lang: str, rng: random.Random) -> Any:
    """A value for one bank parameter (a dict with `kind` and its bounds/values/items)."""
    kind = param["kind"]
    if kind in _P:
        return rng.choice(_P[kind][lang])
    if kind in _GENERATED:
        return _GENERATED[kind](rng, lang)
    if kind == "integer":
        return rng.randint(int(param["min"]), int(param["max"]))
    if kind == "number":
        decimals = int(param.get("decimals", 1))
        value = round(rng.uniform(float(param["min"]), float(param["max"])), decimals)
        return int(value) if decimals == 0 else value
    if kind == "enum":
        return rng.choice(param["values"])
    if kind == "array":
        n = rng.randint(int(param.get("min_items", 1)), int(param.get("max_items", 3)))
        values: list[Any] = []
        for _ in range(n * 3):
            v = sample_value(param["items"], lang, rng)
            if v not in values:
                values.append(v)
            if len(values) == n:
                break
        return values
    if kind == "object":
        props = param["properties"]
        return {p["name"]: sample_value(p, lang, rng) for p in props if p.get("required") or rng.random() < 0.5}
    raise TooltuneError(f"unknown parameter kind {kind!r} in the tool bank: use one of {', '.join(KINDS)}")


def render_value(value: Any, lang: str) -> str:
    """A value as a person would write it in a question: lists joined naturally, objects as
    'name value' pairs, booleans as yes/no."""
    if isinstance(value, bool):
        return ("yes" if value else "no") if lang == "en" else ("是" if value else "否")
    if isinstance(value, list):
        items = [render_value(v, lang) for v in value]
        if lang == "zh":
            return "、".join(items)
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    if isinstance(value, dict):
        sep = "，" if lang == "zh" else ", "
        return sep.join(f"{k.replace('_', ' ')} {render_value(v, lang)}" for k, v in value.items())
    return str(value)


def result_value(spec: str, lang: str, rng: random.Random) -> Any:
    """One field of a simulated tool result from its `returns` spec (see bank.jsonl)."""
    kind, _, arg = spec.partition(":")
    if kind in ("number", "integer"):
        low, _, high = arg.partition("..")
        if kind == "integer":
            return rng.randint(int(float(low)), int(float(high)))
        return round(rng.uniform(float(low), float(high)), 1)
    if kind == "enum":
        return rng.choice(arg.split("|"))
    if kind == "kind":
        return sample_value({"kind": arg, "min": 1, "max": 100}, lang, rng)
    if kind == "text":
        return arg
    if kind == "bool":
        return rng.random() < 0.5
    raise TooltuneError(f"unknown result spec {spec!r}: use number:A..B, integer:A..B, enum:a|b, kind:K, text:T or bool")
