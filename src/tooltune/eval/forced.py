"""Teacher-forced scoring of a reply: would greedy decoding write the reference, token for token?

Greedy decoding writes a reference turn exactly when each of its tokens is the model's argmax
given the conversation and the reference tokens before it — so one forward pass over prompt and
reference, no decoding, decides exact match. That is what makes scoring cheap enough to run before
and after every specialisation (decoding the same items on this CPU takes minutes): items over the
same tools go through as tree rows (train/tree.py), the tool prompt once.

Per item, for its first assistant turn: `exact` (every token the argmax, the end of the turn
included), `name` (the argmax agrees up to the end of the first call's tool name), `called` (the
argmax of the turn's first token opens a tool call). Exact is no easier than what `run` decodes:
the grammar constraint only ever replaces a token the reference would not take, and argument
matching in `tooltune eval` forgives key order and spacing where this does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tooltune.formats import get_format
from tooltune.formats.chat import ChatRenderer
from tooltune.formats.json_layout import CALL_OPEN
from tooltune.lang import dialogue_lang
from tooltune.messages import Sample
from tooltune.train.dataset import IGNORE, Example
from tooltune.train.tree import tree_rows


@dataclass
class Forced:
    example: Example
    name_tokens: int  # reference tokens up to the end of the first tool name (0: no call)
    tools: list[str]  # the reference's tool names (per-tool rates)


def first_turn(sample: Sample) -> Sample:
    """The sample up to and including its first assistant turn."""
    end = next(i for i, m in enumerate(sample.messages) if m.role == "assistant")
    return Sample(sample.messages[: end + 1], sample.tools)


def prepare(sample: Sample, tokenizer: Any, renderer: ChatRenderer, fmt_name: str, source: int) -> Forced:
    sample = first_turn(sample)
    fmt = get_format(fmt_name, dialogue_lang(sample.messages))
    rendered = fmt.render(sample.messages, sample.tools)
    ids: list[int] = []
    labels: list[int] = []
    name_tokens = 0
    calls = sample.messages[-1].tool_calls
    for seg in renderer.segments(rendered):
        enc = tokenizer(seg.text, add_special_tokens=False, return_offsets_mapping=True)
        if seg.train and calls and not name_tokens:
            at = seg.text.find(json.dumps(calls[0].name, ensure_ascii=False))
            end = at + len(json.dumps(calls[0].name, ensure_ascii=False)) if at >= 0 else len(seg.text)
            name_tokens = sum(1 for start, _ in enc["offset_mapping"] if start < end)
        ids += enc["input_ids"]
        labels += enc["input_ids"] if seg.train else [IGNORE] * len(enc["input_ids"])
    return Forced(Example(ids, labels, None, source, renderer.prefix_len(rendered, ids)), name_tokens, [c.name for c in calls])


def score_forced(model: Any, tokenizer: Any, samples: list[Sample], fmt_name: str = "json", branch_tokens: int = 3000) -> list[dict[str, Any]]:
    """One result per sample: {"exact", "name", "called", "expect_call", "tools"} (module docstring)."""
    import torch

    from tooltune.train.loss import decoder_states, model_parts
    from tooltune.train.packing import collate

    renderer = ChatRenderer(tokenizer)
    items = [prepare(s, tokenizer, renderer, fmt_name, i) for i, s in enumerate(samples)]
    open_token = tokenizer(CALL_OPEN, add_special_tokens=False)["input_ids"][0]
    longest_prefix = max(f.example.prefix for f in items)
    decoder, head = model_parts(model)
    results: dict[int, dict[str, Any]] = {}
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for row in tree_rows([f.example for f in items], longest_prefix + branch_tokens):
            batch = collate([row], tokenizer.pad_token_id or 0)
            hidden = decoder_states(decoder, batch["input_ids"], batch.get("position_ids"), batch.get("attention_mask"), batch.get("prefix_ids"))[0]
            at = 0
            for branch in row.branches:
                labels = branch.labels
                pos = [j for j in range(1, len(labels)) if labels[j] != IGNORE]
                guess = head(hidden[[at + j - 1 for j in pos]]).argmax(-1).tolist() if pos else []
                hits = [g == labels[j] for g, j in zip(guess, pos)]
                f = items[branch.source]  # its trained tokens are the turn's, in order: the name comes first
                results[branch.source] = {"exact": all(hits), "name": bool(f.name_tokens) and all(hits[: f.name_tokens]),
                                          "called": bool(guess) and guess[0] == open_token, "expect_call": bool(f.tools), "tools": f.tools,
                                          "agree": sum(hits), "tokens": len(hits), "miss": _miss(tokenizer, labels, pos, guess, hits)}
                at += len(branch)
    model.train(was_training)
    return [results[i] for i in range(len(items))]


def _miss(tokenizer: Any, labels: list[int], pos: list[int], guess: list[int], hits: list[bool]) -> dict[str, str] | None:
    """Where greedy decoding would first leave the reference: the reference text before that
    token, the token it wants and the one the model would write (None when all agree)."""
    k = next((i for i, hit in enumerate(hits) if not hit), None)
    if k is None:
        return None
    return {"before": tokenizer.decode(labels[pos[0]:pos[k]]), "want": tokenizer.decode([labels[pos[k]]]), "got": tokenizer.decode([guess[k]])}


def summarize_forced(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Headline rates: exact (tool + arguments) and tool name over items that call, no call where
    none is due, and exact per tool."""
    calls = [r for r in results if r["expect_call"]]
    none = [r for r in results if not r["expect_call"]]

    def rate(values: list[bool]) -> float | None:
        return sum(values) / len(values) if values else None

    tools = sorted({t for r in calls for t in r["tools"]})
    return {"items": len(results), "call_items": len(calls), "args_em": rate([r["exact"] for r in calls]),
            "tool_name_em": rate([r["name"] for r in calls]), "no_call_accuracy": rate([not r["called"] for r in none]),
            "call_precision": rate([r["expect_call"] for r in results if r["called"]]),
            "per_tool": {t: rate([r["exact"] for r in calls if t in r["tools"]]) for t in tools}}
