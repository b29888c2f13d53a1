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
from pathlib import Path
from typing import Any

from tooltune.data.inputs import read_input
from tooltune.data.store import Revision, Store, is_human_author, is_model_author
from tooltune.errors import TooltuneError
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
        return StepPair(self.prompt, self.chosen, self.rejected, self.tools).to_trl()


@dataclass
class StepPair:
    """A preference between two assistant steps after the same prompt: the one row shape that
    human-edit pairs, mined pairs (eval/mine.py) and `tooltune train --dpo` share."""

    prompt: list[Message]
    chosen: Message
    rejected: Message
    tools: list[dict[str, Any]]

    def to_trl(self) -> dict[str, Any]:
        return {"prompt": [hf_message(m) for m in self.prompt], "chosen": [hf_message(self.chosen)],
                "rejected": [hf_message(self.rejected)], "tools": self.tools}

    def key(self) -> tuple[Any, ...]:
        """What the pair says, call ids aside: equal keys are the same preference."""
        return tuple(_key(m) for m in self.prompt), _key(self.chosen), _key(self.rejected)

    @property
    def same_step(self) -> bool:
        """Chosen and rejected say the same thing (call ids and whitespace aside): no preference."""
        return _key(self.chosen) == _key(self.rejected)

    @classmethod
    def from_trl(cls, row: Any, where: str) -> StepPair:
        """A TRL conversational preference row back to canonical messages; `where` names it in errors."""
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), list):
            raise TooltuneError(f"{where}: not a preference pair; expected {{\"prompt\": [...], \"chosen\": [...], \"rejected\": [...], \"tools\": [...]}} "
                                "as `tooltune export --format dpo` or `tooltune pairs mine` write")
        steps = []
        for side in ("chosen", "rejected"):
            value = row.get(side)
            if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict) and value[0].get("role") == "assistant"):
                raise TooltuneError(f"{where}: {side!r} must be a list of exactly one assistant message")
            steps.append(Message.from_openai(value[0]))
        prompt = [Message.from_openai(m) for m in row["prompt"]]
        if not any(m.role == "user" for m in prompt):
            raise TooltuneError(f"{where}: the prompt has no user message")
        return cls(prompt, steps[0], steps[1], list(row.get("tools") or []))


def read_pairs(path: str | Path) -> list[StepPair]:
    """Preference pairs from a .jsonl of TRL rows, or straight from a corpus.db's approved samples."""
    return read_input(
        path, lambda store: [StepPair(p.prompt, p.chosen, p.rejected, p.tools) for p in preference_pairs(store)], StepPair.from_trl,
        not_found="{path} not found: pass the .jsonl that `tooltune export --format dpo` or `tooltune pairs mine` wrote, or a corpus.db",
        empty="{path} holds no preference pairs (a corpus.db gives pairs only where a person edited a model-written step of an approved sample)")


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
