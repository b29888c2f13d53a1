"""What the annotation page does, without the page: open an item, run the agent, edit a step,
save / reject / undo — each change a revision in the store.

Kept apart from the gradio layout so every rule here is tested directly. The page only maps
buttons to these methods and shows their results.

How versions are attributed (this is what preference pairs are built from, see data/pairs.py):
steps the model writes on the page are stored under `model:<name>` just before a person's
change is stored under that person's name, so the history shows what the model wrote and what
the person made of it. Writes use optimistic locking (`expected_revision`): if someone else saved
the sample since it was opened, the write is refused with StaleRevisionError and nothing changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tooltune.agent import Agent
from tooltune.agent.edit import assistant_indices, edit_final_answer, edit_observation, edit_tool_call, replace_step
from tooltune.data.store import STATUSES, Store
from tooltune.errors import TooltuneError
from tooltune.formats import PromptFormat
from tooltune.lang import lang_or_en
from tooltune.llm.base import LLM
from tooltune.messages import Message, Sample, ToolCall
from tooltune.tools import ToolRegistry
from tooltune.tools.tool import Tool
from tooltune.toolspec import tool_name

QUEUE_FILTERS = ("new", "draft", "approved", "rejected", "all")
QUEUE_LIMIT = 500  # entries listed at once; search narrows the rest


@dataclass
class Item:
    """The question or sample a person has open, with the messages as they stand on the page."""

    key: str
    messages: list[Message]
    tools: list[dict[str, Any]]
    lang: str = "en"
    sample_id: int | None = None
    question_id: int | None = None
    revision: int | None = None
    status: str = "new"
    expect_tool_call: bool | None = None
    human_score: int | None = None
    human_comment: str = ""
    model_unsaved: bool = False  # the model wrote steps that are not in the store yet

    @property
    def steps(self) -> list[int]:
        return assistant_indices(self.messages)


@dataclass
class StepFields:
    thought: str = ""
    tool: str = ""
    arguments: str = ""
    observation: str = ""
    answer: str = ""
    calls: int = 0


@dataclass
class Annotator:
    store: Store
    llm: LLM
    fmt: PromptFormat | str = "react"
    default_tools: ToolRegistry = field(default_factory=ToolRegistry)
    model_name: str = "model"
    max_steps: int = 6
    max_tokens: int = 384

    @property
    def model_author(self) -> str:
        return f"model:{self.model_name}"

    # -- queue --------------------------------------------------------------------------------
    def queue(self, status: str = "all", search: str = "") -> list[tuple[str, str]]:
        """(label, key) of the items to annotate: "new" questions no sample answers yet, samples by status."""
        if status not in QUEUE_FILTERS:
            raise TooltuneError(f"unknown filter {status!r}: use one of {', '.join(QUEUE_FILTERS)}")
        search = search.strip() or None
        out: list[tuple[str, str]] = []
        if status in ("new", "all"):
            out += [(f"Q{q.id} · new · {_short(q.text)}", f"q{q.id}") for q in self.store.questions_without_samples(search)]
        for st in ([status] if status in STATUSES else STATUSES if status == "all" else []):
            for s in self.store.samples(status=st, search=search):
                first = next((m.text for m in s.sample.messages if m.role == "user"), "")
                out.append((f"#{s.id} · {s.status} · {_short(first)}", f"s{s.id}"))
                if len(out) >= QUEUE_LIMIT:
                    return out
        return out[:QUEUE_LIMIT]

    def counts(self) -> dict[str, int]:
        samples = self.store.counts()["samples"]
        new = len(self.store.questions_without_samples())
        return {"approved": samples.get("approved", 0), "rejected": samples.get("rejected", 0),
                "remaining": samples.get("draft", 0) + new}

    def open(self, key: str) -> Item:
        if key.startswith("s") and key[1:].isdigit():
            s = self.store.get_sample(int(key[1:]))
            return Item(key, list(s.sample.messages), list(s.sample.tools), s.lang or "en", s.id, s.question_id, s.revision,
                        s.status, s.expect_tool_call, s.human_score, s.human_comment)
        if key.startswith("q") and key[1:].isdigit():
            q = next((q for q in self.store.questions() if q.id == int(key[1:])), None)
            if q is None:
                raise TooltuneError(f"no question {key[1:]} in {self.store.path}")
            tools = q.tools or self.default_tools.to_openai()
            return Item(key, [Message("user", q.text)], tools, q.lang or "en", question_id=q.id, expect_tool_call=q.expect_tool_call)
        raise TooltuneError(f"unknown item {key!r}: pick one from the queue")

    def history(self, item: Item) -> list[list[Any]]:
        """[revision, author, when (UTC), what changed, status, score] per saved version."""
        import datetime as dt

        if item.sample_id is None:
            return []
        return [[r.revision, r.author, dt.datetime.fromtimestamp(r.created_at, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
                 ", ".join(r.changes), r.status, r.human_score] for r in self.store.revisions(item.sample_id)]

    # -- the agent ----------------------------------------------------------------------------
    def registry(self, item: Item) -> ToolRegistry:
        """The item's own tool specs, bound to the built-in implementations of the same name."""
        tools = []
        for spec in item.tools:
            name = tool_name(spec)
            impl = self.default_tools.get(name).func if name in self.default_tools else None
            tools.append(Tool.from_openai(spec, func=impl))
        return ToolRegistry(tools)

    def run(self, item: Item, max_steps: int | None = None) -> Iterator[tuple[str, Item | None]]:
        """Run (or resume) the agent, yielding the text generated so far, and finally the item
        with the new steps (pending edited calls run first, as `Agent.run` does)."""
        lang = lang_or_en(item.lang)
        agent = Agent(self.llm, self.registry(item), self.fmt, lang, max_steps=max_steps or self.max_steps, max_tokens=self.max_tokens)
        live = ""
        for event in agent.stream(list(item.messages)):
            if event.kind == "token":
                live += event.data["text"]
                yield live, None
            elif event.kind == "format_error":
                live += f"\n[format error, attempt {event.data['attempt']}: {event.data['error']}]\n"
                yield live, None
            elif event.kind == "stopped":
                traj = event.data["trajectory"]
                if len(traj.messages) != len(item.messages) or traj.messages != item.messages:
                    item.messages, item.model_unsaved = list(traj.messages), True
                yield live + f"\n[{traj.status}]", item

    # -- editing and saving ---------------------------------------------------------------------
    def step_fields(self, item: Item, step: int, call: int = 0) -> StepFields:
        idx = item.steps
        if not 0 <= step < len(idx):
            return StepFields()
        m = item.messages[idx[step]]
        if not m.tool_calls:
            return StepFields(thought=m.reasoning_content or "", answer=m.content or "")
        c = m.tool_calls[min(call, len(m.tool_calls) - 1)]
        result = next((x.content or "" for x in item.messages[idx[step] + 1:] if x.role == "tool" and x.tool_call_id == c.id), "")
        return StepFields(m.reasoning_content or "", c.name, json.dumps(c.arguments, ensure_ascii=False, indent=1), result, "", len(m.tool_calls))

    def edited(self, item: Item, step: int, new: StepFields, call: int = 0) -> list[Message]:
        """The messages after a person's edit of one step (later steps dropped where they depended
        on it); raises TooltuneError for unknown tools, bad JSON or arguments the schema refuses."""
        idx = item.steps
        if not 0 <= step < len(idx):
            raise TooltuneError(f"step {step + 1} does not exist: the trajectory has {len(idx)} steps")
        old = self.step_fields(item, step, call)
        msg = item.messages[idx[step]]
        thought = new.thought.strip() or None
        if msg.tool_calls and not new.tool.strip():  # the call becomes a final answer
            if not new.answer.strip():
                raise TooltuneError("give a final answer, or a tool name and its arguments")
            return replace_step(item.messages, step, Message("assistant", new.answer, reasoning_content=thought))
        if not msg.tool_calls and new.tool.strip():  # the final answer becomes a call
            args = self.check_arguments(item, new.tool.strip(), new.arguments)
            return replace_step(item.messages, step, Message("assistant", None, [ToolCall(new.tool.strip(), args)], reasoning_content=thought))
        out = list(item.messages)
        if msg.tool_calls:
            args = self.check_arguments(item, new.tool.strip(), new.arguments)
            if (new.tool.strip(), args) != (old.tool, json.loads(old.arguments)):
                out = edit_tool_call(out, step, new.tool.strip(), args, call)
            elif new.observation != old.observation:
                out = edit_observation(out, step, new.observation, call)
        elif new.answer != old.answer:
            out = edit_final_answer(out, step, new.answer)
        if new.thought.strip() != old.thought.strip():
            out = _with_thought(out, idx[step], thought)
        return out

    def check_arguments(self, item: Item, name: str, text: str) -> dict[str, Any]:
        """Parse the arguments as JSON (never evaluated as code) and validate them against the
        tool's schema, so a call that cannot run is refused before it runs."""
        registry = self.registry(item)
        if name not in registry:
            raise TooltuneError(f"unknown tool {name!r}: choose one of {', '.join(registry.names) or '(none)'}")
        try:
            args = json.loads(text or "{}")
        except json.JSONDecodeError as exc:
            raise TooltuneError(f"the arguments are not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
        if not isinstance(args, dict):
            raise TooltuneError('the arguments must be a JSON object, e.g. {"expression": "2+2"}')
        problem = registry.get(name).validate(args)
        if problem:
            raise TooltuneError(problem)
        return args

    def apply(self, item: Item, author: str, messages: list[Message]) -> Item:
        """Store a person's edit as a revision (after storing what the model wrote, if unsaved)."""
        if messages == item.messages:
            raise TooltuneError("nothing changed: edit the thought, tool, arguments, observation or answer first")
        self._flush_model(item)
        self._write(item, author, Sample(messages, item.tools))
        item.messages = messages
        return item

    def save(self, item: Item, author: str, status: str, score: int | None = None, comment: str = "") -> Item:
        """Save as approved / rejected (or draft) with the rubric: one revision by `author`."""
        self._flush_model(item)
        self._write(item, author, Sample(item.messages, item.tools), status=status, human_score=score, human_comment=comment or "")
        item.status, item.human_score, item.human_comment = status, score, comment or ""
        return item

    def undo(self, item: Item, author: str) -> Item:
        """Drop steps the model wrote since the last save; else bring back the previous saved version."""
        if item.model_unsaved:
            return self.open(item.key) if item.sample_id is not None else self.open(f"q{item.question_id}")
        if item.sample_id is None:
            raise TooltuneError("nothing to undo yet")
        self.store.undo(item.sample_id, author=author, expected_revision=item.revision)
        return self.open(f"s{item.sample_id}")

    def _flush_model(self, item: Item) -> None:
        if item.model_unsaved:
            self._write(item, self.model_author, Sample(item.messages, item.tools))
            item.model_unsaved = False

    def _write(self, item: Item, author: str, sample: Sample, **fields: Any) -> None:
        if item.sample_id is None:  # a new question's first save creates its sample
            item.sample_id = self.store.add_sample(sample, source="human", question_id=item.question_id, lang=item.lang,
                                                   expect_tool_call=item.expect_tool_call, author=author)
            item.key, item.revision, item.status = f"s{item.sample_id}", 1, "draft"
            if fields:
                item.revision = self.store.revise(item.sample_id, author=author, expected_revision=1, **fields)
            return
        item.revision = self.store.revise(item.sample_id, author=author, expected_revision=item.revision, sample=sample, **fields)


def _with_thought(messages: list[Message], index: int, thought: str | None) -> list[Message]:
    """A new thought for the step at `index`, keeping its tool results; later steps are dropped."""
    end = index + 1
    while end < len(messages) and messages[end].role == "tool":
        end += 1
    out = list(messages[:end])
    m = out[index]
    out[index] = Message("assistant", m.content, tool_calls=m.tool_calls, reasoning_content=thought)
    return out


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
