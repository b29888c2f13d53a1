"""Preference pairs from people's edits of model-written steps (`tooltune export --format dpo`).

The store keeps every version of a sample with its author. Where a version a model wrote
(`rollout`, or `model:<name>` from the annotation page) is followed by a person's version that
differs first at an assistant step, that step is a preference: same prefix, `rejected` = what the
model wrote, `chosen` = what the person made of it. Edits of a tool result, a user turn or an
imported sample are not the model's behaviour, so they give no pair; neither does an edit the
person later undid (the chosen step must still be in the sample's latest version).

Rows are TRL's conversational preference format — `prompt` (messages), `chosen` and `rejected`
(one assistant message each) and `tools` (JSON Schemas) — with tool calls as Hugging Face chat
templates expect them (`arguments` a dict), so `DPOTrainer` renders them with the model's own
template and tools.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tooltune.data.store import Revision, Store, is_human_author, is_model_author
from tooltune.messages import Message


@dataclass
class PreferencePair:
    sample_id: int
    prompt: list[Message]
    chosen: Message
    rejected: Message
    tools: list[dict[str, Any]]
    model_revision: int
    human_revision: int
    author: str

    def to_trl(self) -> dict[str, Any]:
        return {"prompt": [hf_message(m) for m in self.prompt], "chosen": [hf_message(self.chosen)],
                "rejected": [hf_message(self.rejected)], "tools": self.tools}


def hf_message(message: Message) -> dict[str, Any]:
    """A message as `tokenizer.apply_chat_template` takes it: tool-call arguments as a dict and
    content never None (a template that prints `content` would print "None")."""
    out: dict[str, Any] = {"role": message.role, "content": message.content or ""}
    if message.tool_calls:
        out["tool_calls"] = [{"type": "function", "id": c.id, "function": {"name": c.name, "arguments": c.arguments}}
                             for c in message.tool_calls]
    if message.role == "tool":
        out.update(tool_call_id=message.tool_call_id, name=message.name)
    if message.reasoning_content:
        out["reasoning_content"] = message.reasoning_content
    return out


def _key(message: Message) -> tuple[Any, ...]:
    """What a message says, ignoring generated call ids and surrounding whitespace."""
    calls = tuple((c.name, json.dumps(c.arguments, sort_keys=True, ensure_ascii=False)) for c in message.tool_calls)
    return message.role, (message.content or "").strip(), (message.reasoning_content or "").strip(), calls


def _first_difference(a: list[Message], b: list[Message]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b)):
        if _key(x) != _key(y):
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def pairs_from_history(sample_id: int, history: list[Revision]) -> list[PreferencePair]:
    """Every (model version, next person's version) whose first difference is an assistant step
    present in both, and whose chosen step survives in the latest version."""
    if not history:
        return []
    latest = [_key(m) for m in history[-1].sample.messages]
    pairs, seen = [], set()
    for i, model in enumerate(history):
        if not is_model_author(model.author):
            continue
        later = next((r for r in history[i + 1:] if _first_difference(model.sample.messages, r.sample.messages) is not None), None)
        if later is None or not is_human_author(later.author):
            continue  # nobody changed it, or a model (a retry) replaced it
        at = _first_difference(model.sample.messages, later.sample.messages)
        old, new = model.sample.messages, later.sample.messages
        if at is None or at >= min(len(old), len(new)) or old[at].role != "assistant" or new[at].role != "assistant":
            continue
        if latest[: at + 1] != [_key(m) for m in new[: at + 1]]:
            continue  # undone or edited again later: the person did not keep this step
        key = (tuple(latest[:at]), _key(new[at]), _key(old[at]))
        if key in seen:
            continue
        seen.add(key)
        pairs.append(PreferencePair(sample_id, list(new[:at]), new[at], old[at], list(later.sample.tools),
                                    model.revision, later.revision, later.author))
    return pairs


def preference_pairs(store: Store, statuses: Iterable[str] = ("approved",)) -> Iterator[PreferencePair]:
    """The pairs of every sample whose current status is one of `statuses`."""
    for status in statuses:
        for stored in store.samples(status=status):
            yield from pairs_from_history(stored.id, store.revisions(stored.id))
