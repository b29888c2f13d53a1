"""Incremental prompt rendering: a step costs the same at step 20 as at step 1.

`PromptFormat.render` re-renders the whole conversation and every tool description on every call,
so an agent's per-step cost grew with its history. `RenderCache` wraps a format *without changing
what it renders*: the system turn (system messages + tool descriptions) is rendered once per
(system text, tool list's content), and the conversation is cut into *groups* — a user message, or an
assistant message with the tool results that follow it — each rendered once by the format itself
and spliced onto the cached turns of the groups before it.

How groups join differs per format (ReAct continues one open assistant turn across steps, the
JSON format starts a turn per message), so the cache *probes* the format at construction: it
renders a few representative conversations whole and piecewise under each joining rule, and keeps
the rule that reproduces the whole render exactly. A format that matches no rule is rendered whole
every time, as before. Messages are treated as immutable once rendered (the edit functions in
`agent.edit` build new `Message` objects, never change one in place), and a list rendered before is
assumed to have only grown by appending when its length and last-seen message still agree (the
fast path, O(new messages) per step; `Agent.run` only appends).
"""

from __future__ import annotations

import operator
from typing import Any

from tooltune.formats.base import PromptFormat, Rendered, Turn
from tooltune.messages import Message, ToolCall
from tooltune.toolspec import tools_key

Join = str  # "continue": an assistant group continues an open assistant turn; "separate": never joins


class RenderCache:
    MAX_SYSTEM_ENTRIES = 32
    MAX_CHECKPOINTS = 4096

    def __init__(self, fmt: PromptFormat, join: Join | None = None, probe: bool = True) -> None:
        """`join`/`probe`: the joining rule is probed from the format unless `probe` is False."""
        self.format = fmt
        self.head_turns = len(fmt.render([], []).turns)  # the (empty) system turn a format always emits
        self.join: Join | None = _probe_once(fmt) if probe else join
        self._system: dict[tuple[tuple[str, ...], str], Rendered] = {}
        # committed groups: (messages of the group, turns after joining it) — a stack, so a retry
        # prompt (conversation + a failed attempt) and the next step share everything before them
        self._checkpoints: list[tuple[tuple[Message, ...], tuple[Turn, ...]]] = []
        # the last list rendered: (list, its length then, its last message, its groups, system texts)
        self._seen: tuple[list[Message], int, Message, list[tuple[Message, ...]], tuple[str, ...]] | None = None
        # the last group rendered on its own: a step's last group is the next step's newest
        # committed one, so keeping it renders each group once instead of twice
        self._last_group: tuple[tuple[Message, ...], Rendered] | None = None

    def render(self, messages: list[Message], tools: list[dict[str, Any]]) -> Rendered:
        if self.join is None or not messages or messages[-1].role == "system":
            return self.format.render(messages, tools)
        grown = self._grown(messages)
        if grown is None:  # another list, or an edited one: group it from scratch, verify checkpoints
            if _late_system(messages):
                return self.format.render(messages, tools)  # formats differ on where a late system message goes
            groups, system = _groups(messages), tuple(m.text for m in messages if m.role == "system")
        else:
            groups, system = grown
        self._seen = (messages, len(messages), messages[-1], groups, system)
        head = self._system_render(system, messages, tools)
        turns = self._committed_turns(groups[:-1], verified=grown is not None)
        last = self._group_render(groups[-1])
        turns = self._joined(turns, groups[-1], last.turns[self.head_turns :])
        # the caller's own list (equal to the cached one's), as a whole render would hold it
        return Rendered(list(head.turns) + list(turns), tools=tools if head.tools is not None else None, open_last=last.open_last)

    # -- pieces ---------------------------------------------------------------------------------
    def _grown(self, messages: list[Message]) -> tuple[list[tuple[Message, ...]], tuple[str, ...]] | None:
        """The fast path, O(new messages): the same list as last time, only appended to (what
        `Agent.run` and the eval's free run do). Returns its groups and system texts, or None."""
        if self._seen is None:
            return None
        seen, count, tail, groups, system = self._seen
        if messages is not seen or len(messages) < count or messages[count - 1] is not tail:
            return None
        for msg in messages[count:]:
            if msg.role == "system":
                return None  # the caller regroups from scratch: the groups edited so far are dropped
            if msg.role == "tool" and groups and groups[-1][0].role != "user":
                groups[-1] = groups[-1] + (msg,)
            else:
                groups.append((msg,))
        return groups, system

    def _system_render(self, system: tuple[str, ...], messages: list[Message], tools: list[dict[str, Any]]) -> Rendered:
        """The system turn, keyed on the tools' content: an equal list built afresh (each request
        to the server, each eval item) hits, and a list changed in place misses."""
        key = (system, tools_key(tools))
        hit = self._system.get(key)
        if hit is None:
            if len(self._system) >= self.MAX_SYSTEM_ENTRIES:
                self._system.clear()
            hit = self._system[key] = self.format.render([m for m in messages if m.role == "system"], tools)
        return hit

    def _committed_turns(self, groups: list[tuple[Message, ...]], verified: bool = False) -> tuple[Turn, ...]:
        """Turns of all complete groups, reusing the longest matching prefix of checkpoints
        (`verified`: the fast path already knows the checkpoints are this list's prefix)."""
        keep = min(len(groups), len(self._checkpoints)) if verified else 0
        while not verified and keep < min(len(groups), len(self._checkpoints)) and _same(self._checkpoints[keep][0], groups[keep]):
            keep += 1
        del self._checkpoints[keep:]
        turns = self._checkpoints[-1][1] if self._checkpoints else ()
        for group in groups[keep:]:
            turns = self._joined(turns, group, self._group_render(group).turns[self.head_turns :])
            if len(self._checkpoints) < self.MAX_CHECKPOINTS:
                self._checkpoints.append((group, turns))
        return turns

    def _group_render(self, group: tuple[Message, ...]) -> Rendered:
        """One group rendered by the format alone (no system text, no tools)."""
        if self._last_group is not None and _same(self._last_group[0], group):
            return self._last_group[1]
        rendered = self.format.render(list(group), [])
        self._last_group = (group, rendered)
        return rendered

    def _joined(self, turns: tuple[Turn, ...], group: tuple[Message, ...], new: list[Turn]) -> tuple[Turn, ...]:
        """Splice a group's turns on. Never mutates a Turn: returned prompts stay as they were."""
        if (
            self.join == "continue" and turns and new and group[0].role != "user"
            and turns[-1].role == "assistant" and new[0].role == "assistant"
        ):
            merged = Turn("assistant", turns[-1].segments + new[0].segments, dict(turns[-1].extra))
            return turns[:-1] + (merged,) + tuple(new[1:])
        return turns + tuple(new)


def _late_system(messages: list[Message]) -> bool:
    lead = 0
    while lead < len(messages) and messages[lead].role == "system":
        lead += 1
    return any(m.role == "system" for m in messages[lead:])


def _same(a: tuple[Message, ...], b: tuple[Message, ...]) -> bool:
    return len(a) == len(b) and all(map(operator.is_, a, b))


def _groups(messages: list[Message]) -> list[tuple[Message, ...]]:
    """User message | assistant message + the tool results after it. System messages are left
    out: every format here gathers them into the system turn."""
    groups: list[list[Message]] = []
    for msg in messages:
        if msg.role == "system":
            continue
        if msg.role == "tool" and groups and groups[-1][0].role != "user":
            groups[-1].append(msg)
        else:
            groups.append([msg])
    return [tuple(g) for g in groups]


# -- probing -----------------------------------------------------------------------------------
_PROBE_TOOLS = [{"type": "function", "function": {"name": "calc", "description": "d", "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}}}]


def _probe_conversations() -> list[list[Message]]:
    def call(i: int) -> ToolCall:
        return ToolCall("calc", {"x": str(i)}, f"c{i}")

    def act(*ids: int, thought: str | None = "t") -> Message:
        return Message("assistant", None, tool_calls=[call(i) for i in ids], reasoning_content=thought)

    def result(i: int) -> Message:
        return Message("tool", f"r{i}", tool_call_id=f"c{i}", name="calc")

    body = [Message("user", "q"), act(1), result(1), act(2, 3, thought=None), result(2), result(3), Message("assistant", "a")]
    more = [Message("user", "q2"), act(4), result(4)]
    return [
        body, [Message("system", "s"), *body, *more], [*body, *more, act(5)], [Message("user", "q"), Message("user", "q3")],
        [Message("user", "q"), Message("assistant", "a"), Message("assistant", "b")], [Message("user", "q"), act(1)],
    ]


_PROBED: dict[tuple[Any, ...], Join | None] = {}


def _probe_once(fmt: PromptFormat) -> Join | None:
    """Probe each format configuration once per process (an Agent is built per eval item)."""
    try:
        key: tuple[Any, ...] = (type(fmt), repr(sorted(vars(fmt).items())))
    except TypeError:
        return _probe(fmt)
    if key not in _PROBED:
        _PROBED[key] = _probe(fmt)
    return _PROBED[key]


def _probe(fmt: PromptFormat) -> Join | None:
    for join in ("continue", "separate"):
        cache = RenderCache(fmt, join, probe=False)
        if all(_equal(cache.render(conv, _PROBE_TOOLS), fmt.render(conv, _PROBE_TOOLS)) for conv in _probe_conversations()):
            return join
    return None


def _equal(a: Rendered, b: Rendered) -> bool:
    return a.open_last == b.open_last and a.tools == b.tools and _shape(a.turns) == _shape(b.turns)


def _shape(turns: list[Turn]) -> list[Any]:
    return [(t.role, [(s.text, s.train) for s in t.segments], t.extra) for t in turns]
