"""Long-term memory (freshness, memory tools, automatic lookup, crash-safe store) and tool
selection (BM25 top-k offered to the model), driven by ScriptedLLM."""

import json

import pytest

from tooltune.agent import Agent
from tooltune.agent.memory import Memory, MemoryStore, is_fresh
from tooltune.agent.selection import ToolSelector, select_tools
from tooltune.errors import TooltuneError
from tooltune.llm import ScriptedLLM
from tooltune.tools import Tool, ToolRegistry, builtin_registry


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting_tools(ttl=None, time_sensitive=False):
    runs = []

    def population(city: str) -> str:
        """Census population of a city.

        Args:
            city: the city
        """
        runs.append(city)
        return f"{city}: 2.1 million"

    tool = Tool.from_function(population)
    tool.ttl, tool.time_sensitive = ttl, time_sensitive
    return ToolRegistry([tool]), runs


def call(name, **args):
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": args}) + "\n</tool_call>"


@pytest.mark.parametrize(
    ("ttl", "sensitive", "age", "reused"),
    [(None, False, 10**9, True), (60, False, 59, True), (60, False, 61, False), (None, True, 0, False)],
)
def test_freshness_decides_whether_a_remembered_result_is_reused(tmp_path, ttl, sensitive, age, reused):
    clock = Clock()
    store = MemoryStore(tmp_path / "m.db", clock=clock)
    tools, runs = counting_tools(ttl, sensitive)
    Agent(ScriptedLLM([call("population", city="Paris"), "ok"]), tools, "json", memory=store).run("q1")
    clock.now += age
    traj = Agent(ScriptedLLM([call("population", city="Paris"), "ok"]), tools, "json", memory=store).run("q2")
    assert runs == (["Paris"] if reused else ["Paris", "Paris"])
    assert [e.kind for e in traj.events].count("memory") == (1 if reused else 0)
    assert traj.messages[2].content == "Paris: 2.1 million"


def test_is_fresh_rules():
    result = Memory(1, "result", "x", "t", "{}", created=0.0, updated=0.0)
    note = Memory(2, "note", "x", None, None, created=0.0, updated=0.0)
    assert is_fresh(result, Tool("t", "", ttl=10), 9.9) and not is_fresh(result, Tool("t", "", ttl=10), 10.0)
    assert not is_fresh(result, Tool("t", "", time_sensitive=True), 0.0)
    assert is_fresh(note, Tool("t", "", time_sensitive=True), 10**9)
    assert builtin_registry().get("current_time").time_sensitive  # the clock is never reused
    assert Tool.from_openai({"name": "w", "ttl": 300, "time_sensitive": False}).ttl == 300
    with pytest.raises(TooltuneError, match="'ttl' must be a number of seconds"):
        Tool.from_openai({"name": "w", "ttl": "soon"})


def test_memory_tools_save_search_and_update_through_the_loop(tmp_path):
    store = MemoryStore(tmp_path / "m.db")
    steps = [
        call("memory_save", text="The office wifi password is tulip42"),
        call("memory_search", query="wifi password"),
        call("memory_update", memory_id=1, text="The office wifi password is orchid7"),
        "done",
    ]
    traj = Agent(ScriptedLLM(steps), ToolRegistry(), "json", memory=store).run("remember the wifi")
    outputs = [m.content for m in traj.messages if m.role == "tool"]
    assert outputs[0] == "saved as memory 1"
    assert outputs[1].startswith("[1] (note, 0s ago) The office wifi password is tulip42")
    assert outputs[2] == "memory 1 updated"
    assert [m.text for m in store.all()] == ["The office wifi password is orchid7", "Task: remember the wifi\nAnswer: done"]
    assert {t["function"]["name"] for t in traj.tools} == {"memory_search", "memory_save", "memory_update"}


def test_automatic_lookup_is_a_canonical_memory_search_step(tmp_path):
    store = MemoryStore(tmp_path / "m.db")
    store.save("Beijing has about 21.9 million people", "note")
    llm = ScriptedLLM(["About 21.9 million."])
    traj = Agent(llm, ToolRegistry(), "json", memory=store, auto_memory=True).run("How many people live in Beijing?")
    roles = [m.role for m in traj.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert traj.messages[1].tool_calls[0].name == "memory_search"
    assert "[1] (note" in traj.messages[2].content and "21.9 million" in traj.messages[2].content
    assert llm.requests[0].messages[-1].role == "tool"  # the model saw the lookup
    nothing = Agent(ScriptedLLM(["hi"]), ToolRegistry(), "json", memory=MemoryStore(tmp_path / "e.db"), auto_memory=True).run("hello")
    assert [m.role for m in nothing.messages] == ["user", "assistant"]


def test_memory_store_is_wal_and_survives_reopen(tmp_path):
    store = MemoryStore(tmp_path / "m.db")
    store.save("fact", "note")
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()
    assert [m.text for m in MemoryStore(tmp_path / "m.db").all()] == ["fact"]
    (tmp_path / "bad.db").write_text("not sqlite at all, just text" * 100)
    with pytest.raises(TooltuneError, match="not a usable SQLite file"):
        MemoryStore(tmp_path / "bad.db")


# -- tool selection --------------------------------------------------------------------------------
def many_tools():
    specs = [
        ("get_weather", "Current weather for a city.", "city"),
        ("stock_price", "Latest share price of a company.", "ticker"),
        ("translate_text", "Translate text into another language.", "target_language"),
        ("send_email", "Send an email message.", "recipient"),
    ]
    return ToolRegistry(
        Tool.from_openai({"name": n, "description": d, "parameters": {"type": "object", "properties": {p: {"type": "string"}}}})
        for n, d, p in specs
    )


def test_bm25_ranks_the_needed_tool_first():
    selector = ToolSelector(many_tools().to_openai())
    assert selector.top("what is the weather in Oslo", 1) == ["get_weather"]
    assert selector.top("translate this into French", 1) == ["translate_text"]
    assert selector.top("share price of ACME", 2)[0] == "stock_price"
    assert select_tools(many_tools(), "translate to French", 1, always=("send_email",)).names == ["translate_text", "send_email"]
    assert select_tools(many_tools(), "translate to French", len(many_tools())) is None  # nothing to leave out


def test_agent_offers_only_the_top_k_tools(tmp_path):
    llm = ScriptedLLM(["It is sunny."])
    agent = Agent(llm, many_tools(), "json", max_tools=1, memory=MemoryStore(tmp_path / "m.db"))
    traj = agent.run("What is the weather in Oslo?")
    offered = [t["function"]["name"] for t in llm.requests[0].tools]
    assert offered == ["get_weather", "memory_search", "memory_save", "memory_update"]
    assert [t["function"]["name"] for t in traj.tools] == offered
    assert traj.events[0].kind == "tools_selected" and traj.events[0].data["tools"] == offered
    full = ScriptedLLM(["ok"])
    Agent(full, many_tools(), "json").run("What is the weather in Oslo?")
    assert len(full.requests[0].tools) == 4
