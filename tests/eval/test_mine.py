"""Pairs from the model's own mistakes: every mistake kind named, the pair's prefix the gold
prefix exactly (same tokens up to the step), held-out tools never mined, and `pairs mine` on a
tiny model writing rows `train --dpo` takes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tooltune.cli import app
from tooltune.eval.mine import mine_pairs
from tooltune.eval.items import make_item
from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.llm import ScriptedLLM
from tooltune.messages import Message, Sample, ToolCall, write_jsonl_atomic
from tooltune.train.dataset import IGNORE, build_step_example

runner = CliRunner()


def tool(name, props, required):
    return {"type": "function", "function": {"name": name, "description": f"{name} tool",
                                             "parameters": {"type": "object", "properties": props, "required": required}}}


TOOLS = [tool("get_weather", {"city": {"type": "string"}, "unit": {"type": "string", "default": "c"}}, ["city"]),
         tool("get_forecast", {"city": {"type": "string"}, "days": {"type": "integer"}}, ["city", "days"])]


def call(name, **args):
    return ToolCall(name, args, "call_1")


def weather(city="Paris"):
    return Message("assistant", None, [call("get_weather", city=city)])


def item(i, steps, tools=TOOLS, question="What is the weather in Paris?"):
    return make_item(f"i{i}", Sample([Message("user", question), *steps], tools), {}, "test")


def said(msg, tools=TOOLS):
    """The json format's text of a step: what a model writes for it."""
    rendered = get_format("json", "en").render([Message("user", "q"), msg], tools)
    return "".join(s.text for s in rendered.turns[-1].segments if s.train)


CASES = [  # (reference steps, what the model writes for the first step, expected kind)
    ([weather()], said(Message("assistant", None, [call("get_forecast", city="Paris", days=1)])), "wrong_tool"),
    ([weather()], said(Message("assistant", None, [call("get_weather")])), "missing_argument"),
    ([weather()], said(Message("assistant", None, [call("get_weather", city="Paris", days=3)])), "extra_argument"),
    ([weather()], said(weather("Rome")), "wrong_value"),
    ([Message("assistant", "Hello!")], said(weather()), "call_where_none_fits"),
    ([weather()], "I cannot check the weather.", "no_call"),
    ([Message("assistant", None, [call("get_weather", city="Paris"), ToolCall("get_weather", {"city": "Rome"}, "call_2")])],
     said(weather()), "too_few_calls"),
    ([weather()], said(Message("assistant", None, [call("get_weather", city="Paris"), ToolCall("get_weather", {"city": "Rome"}, "c2")])),
     "too_many_calls"),
    ([weather()], said(Message("assistant", None, [call("get_weather", city="Paris", unit="c")])), None),  # the default: right
    ([weather()], '<tool_call>{"name": "no_such_tool", "arguments": {}}</tool_call>', "unparsable"),
    ([Message("assistant", "Leonardo da Vinci painted it.")], "I don't have a tool for that request.", "refused_answer"),
    ([Message("assistant", "I can't do that with these tools.")], "Sorry, I cannot do that: none of the tools fits.", None),
]


def test_each_mistake_kind_becomes_one_pair_with_the_gold_prefix(smol_tokenizer):
    items = [item(i, steps) for i, (steps, _, _) in enumerate(CASES)]
    # A two-step item whose second step is wrong: its prefix holds the gold call and its result.
    result_msg = Message("tool", '{"temp": 21}', tool_call_id="call_1", name="get_weather")
    two = item(99, [weather(), result_msg, Message("assistant", "It is 21 C.")])
    held = item(100, [weather()], tools=[*TOOLS, tool("secret_tool", {}, [])])
    llm = ScriptedLLM([said for _, said, _ in CASES] + [said(weather()), said(weather("Rome"))])
    result = mine_pairs(llm, [*items, two, held], ["json"], held_out={"secret_tool"}, batch_size=1)
    kinds = [k for _, _, k in CASES if k not in (None, "unparsable")] + ["call_where_none_fits"]
    assert [r["kind"] for r in result.records] == kinds
    assert result.summary() == {"pairs": 10, "kinds": {"wrong_tool": 1, "missing_argument": 1, "extra_argument": 1, "wrong_value": 1,
                                                      "call_where_none_fits": 2, "no_call": 1, "too_few_calls": 1, "too_many_calls": 1,
                                                      "refused_answer": 1},
                                "steps": 14, "right": 3, "unparsable": 1, "duplicates": 0, "held_out_skipped": 1, "backend_errors": 0}
    last = result.pairs[-1]
    assert last.prompt == two.messages[:3] and last.chosen == two.messages[3]
    assert last.rejected.tool_calls[0].arguments == {"city": "Rome"}
    renderer, fmt = ChatRenderer(smol_tokenizer), get_format("json", "en")
    for pair in result.pairs:
        chosen = build_step_example(pair.prompt, pair.chosen, pair.tools, fmt, renderer)
        rejected = build_step_example(pair.prompt, pair.rejected, pair.tools, fmt, renderer)
        start = next(i for i, lab in enumerate(chosen.labels) if lab != IGNORE)
        assert start == next(i for i, lab in enumerate(rejected.labels) if lab != IGNORE)
        assert chosen.input_ids[:start] == rejected.input_ids[:start]  # the same prefix, token for token
        assert chosen.input_ids[start:] != rejected.input_ids[start:]  # differing only in the step


def test_an_interrupted_mine_goes_on_where_it_stopped(tmp_path):
    """Each item's scored steps are logged as it finishes: a rerun asks the model only for the rest
    and ends with exactly the pairs of an uninterrupted run."""
    items = [item(i, steps) for i, (steps, _, _) in enumerate(CASES)]
    texts = [said for _, said, _ in CASES]
    whole = mine_pairs(ScriptedLLM(texts), items, ["json"], batch_size=1)
    first = ScriptedLLM(texts[:4])  # runs out at the fifth item, as a crash or Ctrl-C would stop it
    with pytest.raises(RuntimeError):
        mine_pairs(first, items, ["json"], batch_size=1, log_dir=tmp_path)
    rest = ScriptedLLM(texts[4:])
    resumed = mine_pairs(rest, items, ["json"], batch_size=1, log_dir=tmp_path)
    assert len(rest.requests) == len(CASES) - 4 and not rest.queue
    assert resumed.summary() == whole.summary() and resumed.records == whole.records
    assert [p.key() for p in resumed.pairs] == [p.key() for p in whole.pairs]  # the same steps, call ids aside


def test_the_same_mistake_in_two_formats_is_one_pair():
    steps = [weather()]
    react_text = "Thought: check\nAction: get_weather\nAction Input: {\"city\": \"Rome\"}\n"
    llm = ScriptedLLM([said(weather("Rome")), react_text])
    result = mine_pairs(llm, [item(0, steps)], ["json", "react"], batch_size=1)
    assert (len(result.pairs), result.duplicates) == (2, 0)  # react's step carries its thought: a different rejected step
    llm = ScriptedLLM([said(weather("Rome")), said(weather("Rome"))])
    assert mine_pairs(llm, [item(0, steps), item(1, steps)], ["json"], batch_size=1).duplicates == 1


def test_cli_mines_a_tiny_model_and_train_dpo_takes_the_rows(tmp_path, tiny_model, smol_tokenizer):
    from tooltune.messages import read_jsonl
    from tooltune.train.dataset import DEMO_CORPUS

    base = tmp_path / "tiny"
    tiny_model.save_pretrained(base)
    smol_tokenizer.save_pretrained(base)
    data = tmp_path / "items.jsonl"
    write_jsonl_atomic(data, [obj for _, obj in list(read_jsonl(DEMO_CORPUS))[:4]])
    held = tmp_path / "held.jsonl"
    write_jsonl_atomic(held, [item(0, [weather()]).sample.to_openai()])
    out = tmp_path / "mined.jsonl"
    res = runner.invoke(app, ["pairs", "mine", "--data", str(data), "--model", str(base), "--backend", "transformers", "--max-tokens", "6",
                              "--held-out", str(held), "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.with_suffix(".report.json").read_text())
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == report["pairs"] > 0 and sum(report["kinds"].values()) == len(rows)
    assert set(rows[0]) == {"prompt", "chosen", "rejected", "tools"}
    # The same command again resumes from the per-item log: nothing is re-run, the same pairs come out.
    res = runner.invoke(app, ["pairs", "mine", "--data", str(data), "--model", str(base), "--backend", "transformers", "--max-tokens", "6",
                              "--held-out", str(held), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert [json.loads(line)["chosen"] for line in out.read_text().splitlines()] == [r["chosen"] for r in rows]
    res = runner.invoke(app, ["train", "--dpo", "--data", str(out), "--model", str(base), "--format", "json", "--max-steps", "1",
                              "--eval-split", "0", "--report-to", "none", "--out", str(tmp_path / "dpo")])
    assert res.exit_code == 0, res.output
    # Mining on the evaluation tools themselves is refused.
    res = runner.invoke(app, ["pairs", "mine", "--data", str(held), "--model", str(base), "--held-out", str(held), "--out", str(out)])
    assert "offers a tool of --held-out" in str(res.exception)
