"""Copy help for tool-call values: where it acts (a word of the conversation being finished
inside an argument value) and where it must not (keys, the tool name, free text, other words)."""

from __future__ import annotations

import pytest
import torch

from tests.llm.test_constrain import TOOLS, block, steer
from tooltune.agent import Agent
from tooltune.llm.constrain import GuideFactory
from tooltune.llm.copying import CopyBias, TokenTable, copy_source, open_value
from tooltune.llm.transformers_backend import TransformersLLM
from tooltune.messages import Message

pytest.importorskip("llguidance")

MISSPELT = block("get_weather", '{"city": "Manchaster", "unit": "celsius"}')  # M anch aster: a guess after "Manch"


def test_open_value_finds_the_string_value_being_written():
    assert open_value('{"name": "get_weather", "arguments": {"city": "Liv') == ("Liv", 2)
    assert open_value('{"name": "get_wea') == ("get_wea", 1)
    assert open_value('{"name": "get_weather", "arguments": {"ci') is None  # a key
    assert open_value('{"a": ["x", "y') == ("y", 2)  # strings in arrays are values
    assert open_value('{"a": [{"b": 1, "c') is None
    assert open_value('{"q": "say \\"hi') == ('say \\"hi', 1)  # an escaped quote does not end it
    assert open_value('{"q": "done", ') is None
    assert copy_source([Message("system", "Rome"), Message("user", "Paris?"), Message("assistant", "Oslo"), Message("tool", "Lyon")]) == "Paris?\nLyon"


@pytest.fixture(scope="module")
def table(smol_tokenizer):
    return TokenTable(smol_tokenizer)


def logits_for(table: TokenTable, scores: dict[str, float]) -> torch.Tensor:
    out = torch.zeros(len(table.text))
    for text, value in scores.items():
        out[table.text.index(text)] = value
    return out


def test_the_bonus_goes_to_the_tokens_that_finish_the_word_as_written(table):
    bias = CopyBias(table, "Get the ranking of Liverpool Football Club", ("<tool_call>",), 2, bonus=10.0)
    bias.written = '<tool_call>\n{"name": "rank", "arguments": {"team": "Liver'
    assert bias.endings() == {"pool"}
    logits = bias.apply(logits_for(table, {"ly": 8.0, "pool": 1.0}))
    assert table.text[int(logits.argmax())] == "pool" and float(logits[table.text.index("pool")]) == 11.0
    assert float(logits[table.text.index("p")]) == 10.0 and float(logits[table.text.index("ly")]) == 8.0
    assert bias.nudged == 1
    bias.written += "p"  # the model took "p": the word is seen to its end, even where it would stop
    logits = bias.apply(logits_for(table, {'"': 8.0, "ool": 1.0}))
    assert table.text[int(logits.argmax())] == "ool" and bias.nudged == 2
    bias.written += 'ool", "city": "Liver'  # a new word: the model may stop it where it likes
    before = logits_for(table, {'"': 8.0, "pool": 1.0})
    assert torch.equal(bias.apply(before.clone()), before) and bias.nudged == 2


def test_a_helped_word_may_stop_where_a_word_of_the_question_stops(table):
    bias = CopyBias(table, "Trains from York to Yorkshire", ("<tool_call>",), 2, bonus=10.0)
    bias.written = '<tool_call>\n{"name": "trains", "arguments": {"to": "Yo'
    assert table.text[int(bias.apply(logits_for(table, {"ung": 8.0, "r": 1.0})).argmax())] == "r"
    bias.written += "r"  # "Yor" is no word of the question: it is finished
    assert table.text[int(bias.apply(logits_for(table, {'"': 8.0, "k": 1.0})).argmax())] == "k"
    bias.written += "k"  # "York" is a word of the question too: stopping here is no misspelling
    before = logits_for(table, {'"': 8.0, "sh": 1.0})
    assert torch.equal(bias.apply(before.clone()), before) and bias.nudged == 2


@pytest.mark.parametrize("written, scores", [
    ('<tool_call>\n{"name": "rank", "arguments": {"team": "Liver', {"pool": 8.0, "ly": 1.0}),  # the model spells it already
    ('<tool_call>\n{"name": "rank", "arguments": {"team": "Liverpool', {'"': 8.0, "ly": 1.0}),  # the word is whole
    ('<tool_call>\n{"name": "rank", "arguments": {"team": "Liver', {'"': 8.0, "pool": 1.0}),  # it ends the value there
    ('<tool_call>\n{"name": "rank", "arguments": {"Liver', {"ly": 8.0, "pool": 1.0}),  # a key
    ('<tool_call>\n{"name": "Liver', {"ly": 8.0, "pool": 1.0}),  # the tool's name
    ('The team is Liver', {"ly": 8.0, "pool": 1.0}),  # free text
    ('<tool_call>\n{"name": "rank", "arguments": {"team": "L', {"ly": 8.0, "pool": 1.0}),  # one letter: too little to tell
    ('<tool_call>\n{"name": "rank", "arguments": {"team": "Manch', {"ly": 8.0, "pool": 1.0}),  # no such word in the question
])
def test_no_bonus_where_the_model_is_not_misspelling_a_copied_word(table, written, scores):
    bias = CopyBias(table, "Get the ranking of Liverpool Football Club", ("<tool_call>",), 2, bonus=10.0)
    bias.written = written
    before = logits_for(table, scores)
    assert torch.equal(bias.apply(before.clone()), before) and bias.nudged == 0


def test_react_arguments_count_from_the_first_level(table):
    bias = CopyBias(table, "weather in Liverpool", ("Action:",), 1, bonus=10.0)
    bias.written = 'Thought: x\nAction: get_weather\nAction Input: {"city": "Liver'
    assert bias.endings() == {"pool"}


def complete(tiny_model, smol_tokenizer, question: str, constrain: bool) -> str:
    """The steered model writes MISSPELT; the copy bonus (100, above the steering's 60 + length)
    is what turns it back, so the test shows where the bonus is applied, not its size."""
    llm = TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, prefix_cache=False)
    llm._guides = GuideFactory(smol_tokenizer, llm._eos_ids, copy_bonus=100.0)
    agent = Agent(llm, TOOLS, "json", constrain=constrain, max_tokens=48)
    with steer(tiny_model, smol_tokenizer, MISSPELT):
        return llm.complete(agent.request([Message("user", question)])).text


def test_a_misspelt_copy_is_spelt_as_the_question_has_it(tiny_model, smol_tokenizer):
    assert complete(tiny_model, smol_tokenizer, "Weather in Manchester, please", False) == MISSPELT
    assert complete(tiny_model, smol_tokenizer, "Weather in Leeds, please", True) == MISSPELT  # nothing to copy from
    assert complete(tiny_model, smol_tokenizer, "Weather in Manchester, please", True) == MISSPELT.replace("Manchaster", "Manchester")


def test_batched_rows_each_copy_from_their_own_question(tiny_model, smol_tokenizer):
    llm = TransformersLLM(model_obj=tiny_model, tokenizer=smol_tokenizer, prefix_cache=False)
    llm._guides = GuideFactory(smol_tokenizer, llm._eos_ids, copy_bonus=100.0)
    agent = Agent(llm, TOOLS, "json", constrain=True, max_tokens=48)
    requests = [agent.request([Message("user", q)]) for q in ("Weather in Manchester, please", "Weather in Leeds, please")]
    rows = [steer(tiny_model, smol_tokenizer, MISSPELT) for _ in requests]  # one script reader a row

    def by_row(module, args, kwargs, output):  # generate() feeds every row's last token together
        fed = kwargs["input_ids"]
        for row, reader in enumerate(rows):
            reader.hook(module, args, {"input_ids": fed[row:row + 1]}, _Row(output, row))
        return output

    handle = tiny_model.register_forward_hook(by_row, with_kwargs=True)
    try:
        texts = [c.text for c in llm.complete_batch(requests)]
    finally:
        handle.remove()
    assert texts == [MISSPELT.replace("Manchaster", "Manchester"), MISSPELT]


class _Row:
    """One row of a batch's output, as `steer.hook` expects a whole output."""

    def __init__(self, output, row: int) -> None:
        self.logits = output.logits[row:row + 1]
