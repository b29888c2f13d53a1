"""The shipped smollm2-tools adapter: `--model embedded` is the base plus recipe v3 (v2's SFT
adapter preference-trained), `--model embedded-v2` the base plus v2, and the default calls a tool
it never saw in training (the calculator is not in the recipe's corpus) with the right arguments."""

from __future__ import annotations

import json

import pytest

from tooltune.agent import Agent
from tooltune.llm import make_llm
from tooltune.llm.embedded import V2_ADAPTER, resolve_model, shipped_adapter
from tooltune.tools import builtin_registry


def test_embedded_names_resolve_to_base_plus_the_shipped_adapter():
    adapter = shipped_adapter()
    assert adapter is not None and (adapter / "adapter_model.safetensors").exists()
    recipe = json.loads((adapter / "recipe.json").read_text(encoding="utf-8"))
    assert recipe["recipe"] == "smollm2-tools" and recipe["version"] == 3 and recipe["corpus"]["held_out_tools"] == 56
    assert recipe["sft"]["version"] == 2 and recipe["prefer"]["mix_rows"] == 68  # the record of how v3 was made
    base, with_adapter = resolve_model("embedded")
    assert with_adapter == str(adapter) and resolve_model("embedded-base") == (base, None)
    assert resolve_model("embedded-v2") == (base, str(V2_ADAPTER))
    assert json.loads((V2_ADAPTER / "recipe.json").read_text(encoding="utf-8"))["version"] == 2


@pytest.mark.slow
def test_tuned_model_calls_the_unseen_calculator_and_answers_1093():
    llm = make_llm("embedded", backend="transformers")
    agent = Agent(llm, builtin_registry().select(["calculator", "current_time", "web_search"]), "json", max_steps=3, max_tokens=64)
    traj = agent.run("What is 23 * 47 + 12? Use the calculator.")
    calls = [c for m in traj.messages for c in m.tool_calls]
    assert [c.name for c in calls] == ["calculator"]
    assert builtin_registry().get("calculator").invoke(calls[0].arguments).output == '{"result": 1093}'  # the model's own expression
    assert traj.status == "final" and "1093" in traj.final_answer
