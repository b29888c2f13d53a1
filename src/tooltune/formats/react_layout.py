"""The one owner of the ReAct text layout: how a step is written, and the keywords read back.

Several places write or read ReAct text and must agree byte for byte: the ReAct prompt format (what
the agent prompts with and what training labels are built from), its completion parser, the
text-only dataset exports/imports (ms_agent, AgentFabric, alpaca in `data/react_text.py`), the
keyword loss scale (train/dataset.py), the call grammar (formats/grammar.py) and a server's forced
call (serve/replies.py). They all take the keywords, the stop words and the call opening from
here, and write steps with `step_segments` / read them with `keywords`.

Layout of one assistant turn (a scratchpad), each call followed by its own observation:

    Thought: <reasoning>
    Action: <tool>
    Action Input: <JSON arguments>
    Observation: <result>
    Action: <second tool of a parallel step>
    Action Input: <JSON>
    Observation: <result>
    Thought: I now know the final answer
    Final Answer: <answer>

A new step starts with a `Thought:`; `Action:` blocks with no `Thought:` between them belong to
one (parallel) step. A model generates up to `Observation:` (the stop word), so in ReAct it writes
one call per completion and continues the same turn after each observation.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from tooltune.formats.base import Segment
from tooltune.messages import Message

# Unanchored (a completion may write keywords mid-line); `(?<![\w])` keeps `reaction:` out.
KEYWORD = re.compile(
    r"(?<![\w])[*_]{0,2}(thought|action[ _]*input|action|final[ _]*answer|observation|question|最终答案|思考|行动输入|行动|观察)"
    r"[*_]{0,2}\s*[:：][*_]{0,2}",
    re.I,
)
# Line-anchored, for whole scratchpads from datasets (AgentFabric also writes `Answer:`).
LINE_KEYWORD = re.compile(
    r"^[ \t]*[*_]{0,2}(Thought|Action[ _]?Input|Action|Observation|Final[ _]?Answer|Answer|思考|行动输入|行动|观察|最终答案)"
    r"[*_]{0,2}[ \t]*[:：]", re.M | re.I)
_CANON = {"思考": "thought", "行动输入": "action input", "行动": "action", "最终答案": "final answer", "观察": "observation"}
DEFAULT_THOUGHT = {"en": "I now know the final answer", "zh": "我现在知道最终答案了"}
DEFAULT_THOUGHTS = {"i now know the final answer", "我现在知道最终答案了", "i know the final answer"}
THOUGHT = "Thought:"
ACTION = "Action:"
ACTION_INPUT = "Action Input:"
OBSERVATION = "Observation:"
FINAL_ANSWER = "Final Answer:"
# Generation stops where the tool's result goes; some models write the full-width colon.
STOP_WORDS = (OBSERVATION, OBSERVATION[:-1] + "：")
# How a call may open (the first is what a forced or constrained call writes).
CALL_OPENERS = (ACTION, ACTION[:-1] + "：", "行动:", "行动：")
_JOINED_KINDS = {"actioninput": "action input", "finalanswer": "final answer"}
_SPACES = re.compile(r"\s+")


@dataclass
class Kw:
    """One keyword found in ReAct text: its canonical kind and where it starts and ends."""

    kind: str
    start: int
    end: int


@functools.lru_cache(maxsize=512)
def canonical_kind(word: str) -> str:
    """`Action_Input`, `ActionInput`, `行动输入` -> "action input"; `FinalAnswer` -> "final answer".
    Cached: every parsed step names the same few keywords, and this is most of `keywords`' cost."""
    word = word.lower().replace("_", " ")
    word = _CANON.get(word, word)
    return _JOINED_KINDS.get(_SPACES.sub("", word), word)


def keywords(text: str, line_start: bool = False) -> list[Kw]:
    pattern = LINE_KEYWORD if line_start else KEYWORD
    return [Kw(canonical_kind(m.group(1)), m.start(), m.end()) for m in pattern.finditer(text)]


@dataclass(frozen=True)
class Dialect:
    """What differs between the prompt format and a dataset's ReAct text; the layout does not."""

    final_keyword: str = FINAL_ANSWER[:-1]
    thought_keyword: bool = True  # AgentFabric writes its thought as bare text
    result_tags: bool = False  # AgentFabric: `Observation: <result>…</result>`
    default_thought: bool = True  # the format always writes a Thought before the Final Answer
    pending_observation: bool = True  # the format trains the stop word after a call awaiting its result
    final_newline: bool = False  # dataset text ends a Final Answer line; the format ends the turn there


FORMAT = Dialect()
TEXT = Dialect(default_thought=False, pending_observation=False, final_newline=True)


def step_thought(msg: Message) -> str:
    """A step's reasoning: `reasoning_content`, else the content written beside tool calls."""
    return (msg.reasoning_content or (msg.content if msg.tool_calls else "") or "").strip()


def step_segments(msg: Message, lang: str, results: list[str | None], dialect: Dialect = FORMAT) -> list[Segment]:
    """One assistant step as segments: what the model writes is `train=True`, each observation
    (the tool's result, `results[i]` for call i, None while it is pending) is not."""
    thought = step_thought(msg)
    head = (f"{THOUGHT} {thought}\n" if dialect.thought_keyword else f"{thought}\n") if thought else ""
    if not msg.tool_calls:
        if not head and dialect.default_thought:
            head = f"{THOUGHT} {DEFAULT_THOUGHT.get(lang, DEFAULT_THOUGHT['en'])}\n"
        end = "\n" if dialect.final_newline else ""
        return [Segment(f"{head}{dialect.final_keyword}: {msg.text}{end}", train=True)]
    segs = []
    for i, call in enumerate(msg.tool_calls):
        args = json.dumps(call.arguments, ensure_ascii=False)
        result = results[i] if i < len(results) else None
        text = f"{head if i == 0 else ''}{ACTION} {call.name}\n{ACTION_INPUT} {args}\n"
        if result is None and not dialect.pending_observation:
            segs.append(Segment(text, True))
            continue
        segs.append(Segment(text + OBSERVATION, True))
        if result is not None:
            segs.append(_result_segment(result, dialect))
    return segs


def forced_call_prefix(name: str | None = None) -> str:
    """The opening of a call a server prefills when tool_choice forces one; with `name`, up to
    where the arguments begin (the model writes the JSON)."""
    return f"{ACTION} {name}\n{ACTION_INPUT}" if name else ACTION


def turn_segments(messages: list[Message], lang: str, dialect: Dialect = FORMAT) -> list[Segment]:
    """The assistant and tool messages of one turn, each call's result right after that call.
    Results are matched by `tool_call_id`, else taken in order; a result no call asked for stays
    where it is (as an observation)."""
    segs: list[Segment] = []
    used: set[int] = set()
    for i, msg in enumerate(messages):
        if msg.role == "tool" and i not in used:  # a result no call asked for stays where it is
            segs.append(_result_segment(msg.text, dialect))
        if msg.role != "assistant":
            continue
        following = _results_after(messages, i)
        results = []
        for call in msg.tool_calls:
            j = next((j for j in following if j not in used and messages[j].tool_call_id == call.id), None)
            if j is None:
                j = next((j for j in following if j not in used and messages[j].tool_call_id not in _ids(msg)), None)
            if j is not None:
                used.add(j)
            results.append(messages[j].text if j is not None else None)
        segs += step_segments(msg, lang, results, dialect)
    return segs


def _result_segment(result: str, dialect: Dialect) -> Segment:
    return Segment(f" <result>{result}</result>\n" if dialect.result_tags else f" {result}\n")


def _results_after(messages: list[Message], i: int) -> list[int]:
    out = []
    for j in range(i + 1, len(messages)):
        if messages[j].role != "tool":
            break
        out.append(j)
    return out


def _ids(msg: Message) -> set[str]:
    return {c.id for c in msg.tool_calls}


def scratchpad_text(messages: list[Message], lang: str = "en", dialect: Dialect = TEXT) -> str:
    """One assistant turn as the plain ReAct text the text-only dataset formats carry."""
    return "".join(s.text for s in turn_segments(messages, lang, dialect)).rstrip("\n")
