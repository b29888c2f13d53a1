"""All tools vs the BM25 top-k (tooltune.eval.selection_accuracy, benchmarks/selection_accuracy.py):
exact accuracies and recall@k with ScriptedLLM on hand-made items over a small tool pool."""

import json

import pytest

from tooltune.eval.items import make_item
from tooltune.eval.runner import EvalSettings
from tooltune.eval.selection_accuracy import offered_sets, recall_at_k, selection_accuracy
from tooltune.llm import ScriptedLLM
from tooltune.messages import Message, Sample, ToolCall


def spec(tool_name, description, **params):
    props = {p: {"type": "number" if p == "amount" else "string", "description": d} for p, d in params.items()}
    return {"type": "function", "function": {"name": tool_name, "description": description,
                                             "parameters": {"type": "object", "properties": props, "required": list(props)}}}


POOL = [
    spec("get_weather", "Current weather for a city.", city="City name."),
    spec("convert_currency", "Convert an amount of money between currencies.", amount="Amount.", source="From currency.", target="To currency."),
    spec("translate_text", "Translate text into another language.", text="Text.", language="Target language."),
]
CONTACT = spec("find_contact", "Look up a contact's phone and email by name.", name="Contact name.")


def item(item_id, question, call=None, tools=None):
    answer = Message("assistant", None, tool_calls=[ToolCall(call[0], call[1], "c1")]) if call else Message("assistant", "Here you are.")
    return make_item(item_id, Sample([Message("user", question), answer], tools or POOL[:1]), {"lang": "en"}, item_id)


ITEMS = [
    item("weather", "What's the weather in Paris?", ("get_weather", {"city": "Paris"})),
    item("money", "Convert 100 USD to EUR", ("convert_currency", {"amount": 100, "source": "USD", "target": "EUR"})),
    item("contact", "Call Diana Chen", ("find_contact", {"name": "Diana Chen"}), tools=[CONTACT]),  # not in the pool: added
    item("haiku", "Write a haiku about rain."),  # a hard negative: left out
]


def call(tool, **args):
    return "<tool_call>\n" + json.dumps({"name": tool, "arguments": args}) + "\n</tool_call>"


def test_offered_sets_add_the_items_tools_and_select_k():
    everything, top = offered_sets(ITEMS[2], POOL, 1)
    assert [s["function"]["name"] for s in everything] == ["get_weather", "convert_currency", "translate_text", "find_contact"]
    assert [s["function"]["name"] for s in top] == ["get_weather"]  # no word in common: registration order, the tool is missed
    assert [s["function"]["name"] for s in offered_sets(ITEMS[1], POOL, 1)[1]] == ["convert_currency"]
    assert recall_at_k(ITEMS, {"en": POOL}, 1) == (2, 3) and recall_at_k(ITEMS, {"en": POOL}, 4) == (3, 3)


class CountingLLM(ScriptedLLM):
    """ScriptedLLM whose prompts 'cost' 100 tokens per offered tool (a backend with prompt_ids)."""

    def prompt_ids(self, request):
        return [0] * (100 * len(request.tools))


def test_accuracy_with_all_tools_vs_top_k():
    script = [  # all tools first (items in order), then the top-1 selection
        call("get_weather", city="Paris"), call("convert_currency", amount=10, source="USD", target="EUR"), call("find_contact", name="Diana Chen"),
        call("get_weather", city="Paris"), call("convert_currency", amount=100, source="USD", target="EUR"), "I have no tool for contacts.",
    ]
    llm = CountingLLM(script)
    report = selection_accuracy(llm, ITEMS, {"en": POOL}, 1, EvalSettings(format="json", max_tokens=50), batch_size=1, window=300)
    assert (report["items"], report["skipped_no_call"], report["k"]) == (3, 1, 1)
    assert report["recall_at_k"] == pytest.approx(2 / 3)
    everything, top = report["all"], report["top_k"]
    assert (everything["tool_name_em"], everything["args_em"]) == (1.0, pytest.approx(2 / 3))
    assert (top["tool_name_em"], top["args_em"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert (everything["max_prompt_tokens"], everything["over_context"], top["max_prompt_tokens"], top["over_context"]) == (400, 3, 100, 0)
    assert [len(r["steps"]) for r in report["results"]["all"]] == [1, 1, 1]  # only the first step is scored
    assert [len(req.tools) for req in llm.requests] == [3, 3, 4, 1, 1, 1]  # the pool, plus an item tool it lacks
    assert not llm.queue
