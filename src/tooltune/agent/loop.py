"""The agent loop over canonical messages, one step at a time, for every prompt format.

`Agent.stream(messages)` continues *any* conversation: a fresh question, a saved trajectory, or a
prefix of one whose last step a person edited. If the last assistant message has tool calls
without results (say, edited arguments), those tools run first; then the model takes steps until
a final answer or `max_steps`. Unparseable completions are fed back to the model with the error
(at most `max_format_retries` times per step) and never raise out of the loop.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from tooltune.agent.context import ContextFitter, ContextOverflow, tokenizer_counter
from tooltune.agent.memory import MemoryStore, lookup_messages, memory_tools
from tooltune.agent.parallel import run_calls
from tooltune.agent.render_cache import RenderCache
from tooltune.agent.selection import select_tools
from tooltune.agent.repeats import CallIndex, call_key, repeat_note
from tooltune.agent.steps import ActionStep, Event, FinalAnswerStep, FormatErrorStep, Status, Step, Trajectory, TokenUsage
from tooltune.errors import TooltuneError
from tooltune.formats import PromptFormat, get_format
from tooltune.formats.base import Parsed
from tooltune.formats.parsing import resolve_tool_name, tool_names
from tooltune.llm.base import LLM, Completion, GenerationRequest
from tooltune.messages import Message, ToolCall
from tooltune.prompts import fill
from tooltune.tools import ToolRegistry, ToolResult

_DONE = object()
MEMORY_TOOLS = ("memory_search", "memory_save", "memory_update")  # offered whatever the selection


def check_limits(max_steps: int, max_tokens: int, max_repeats: int, max_tools: int | None, context_window: int | None,
                 max_parallel_calls: int = 1) -> None:
    """The one check of an agent's limits: `Agent` runs it, and `tooltune run` before it loads a
    model, so a bad flag fails in a second rather than after the load (`run` has no
    --max-parallel-calls: the default 1 always passes)."""
    if max_steps < 1:
        raise TooltuneError("--max-steps must be at least 1")
    if max_repeats < 0 or max_parallel_calls < 1 or (max_tools is not None and max_tools < 1):
        raise TooltuneError("max_repeats must be >= 0, max_parallel_calls >= 1 and max_tools >= 1")
    if context_window is not None and context_window <= max_tokens:
        raise TooltuneError(f"--context-window ({context_window}) must be larger than --max-tokens ({max_tokens})")


class Agent:
    clock: Callable[[], float] = staticmethod(time.perf_counter)  # times each step; a test may set a fake

    def __init__(
        self, llm: LLM, tools: ToolRegistry, fmt: PromptFormat | str = "react", lang: str = "en",
        max_steps: int = 6, max_format_retries: int = 2, max_tokens: int = 384, temperature: float = 0.0,
        max_repeats: int = 2, max_parallel_calls: int = 4, max_tools: int | None = None,
        memory: MemoryStore | None = None, auto_memory: bool = False, context_window: int | None = None,
        constrain: bool = False,
    ) -> None:
        """`max_repeats`: identical repeated calls tolerated before the run stops with status
        `loop`; `max_parallel_calls`: how many calls of one step run at once (each call keeps its
        tool's own timeout); `max_tools`: offer the model only the k tools that best match the
        task (agent.selection), when more are registered; `memory`: a long-term MemoryStore,
        offered as the memory tools, reusing fresh remembered results and saving new ones;
        `auto_memory`: look memory up before a run (agent.memory); `context_window`: fit each
        prompt into this many tokens (agent.context states the policy); `constrain`: hold tool
        calls to the offered tools and their schemas while decoding (formats.grammar; local
        backends enforce it, servers ignore it)."""
        check_limits(max_steps, max_tokens, max_repeats, max_tools, context_window, max_parallel_calls)
        self.llm = llm
        self.memory = memory
        self.auto_memory = auto_memory
        self.tools = ToolRegistry([*tools, *memory_tools(memory, tools)]) if memory is not None else tools
        self.format = get_format(fmt, lang) if isinstance(fmt, str) else fmt
        self.max_steps = max_steps
        self.max_format_retries = max_format_retries
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_repeats = max_repeats
        self.max_parallel_calls = max_parallel_calls
        self.max_tools = max_tools
        self.constrain = constrain
        self.offered: ToolRegistry | None = None  # the tools shown this run, when selected
        self._calls = CallIndex()
        self.context = ContextFitter(context_window, max_tokens, count=tokenizer_counter(llm)) if context_window else None
        self._cancel = threading.Event()
        self._renderer = RenderCache(self.format)
        self._specs: tuple[tuple[Any, ...], list[dict[str, Any]]] = ((), [])

    def cancel(self) -> None:
        """Stop the running loop: generation halts mid-completion, no further tool runs, and the
        trajectory ends with status "stopped" holding every step completed so far."""
        self._cancel.set()

    @property
    def tool_specs(self) -> list[dict[str, Any]]:
        """The tools' OpenAI specs, rebuilt only when the registry's tools change (the same list
        object is what lets the render cache reuse the rendered tool descriptions)."""
        key = tuple(self.offered if self.offered is not None else self.tools)
        if len(key) != len(self._specs[0]) or any(a is not b for a, b in zip(key, self._specs[0])):
            self._specs = (key, [t.to_openai() for t in key])
        return self._specs[1]

    # -- one step -------------------------------------------------------------------------------
    def request(self, messages: list[Message]) -> GenerationRequest:
        specs = self.tool_specs
        return GenerationRequest.for_format(self.format, self._renderer.render(messages, specs), messages, specs, max_tokens=self.max_tokens,
                                            temperature=self.temperature, constrain=self.constrain, cancel=self._cancel)

    def parse(self, completion: Completion) -> Parsed:
        """A server that parsed the calls itself may have completed a call that hit max_tokens
        (finish_reason "length"): only the last call can be cut off, so it is reported, not run."""
        if completion.tool_calls:  # a server that parsed the calls itself
            calls, truncated = [], []
            for i, call in enumerate(completion.tool_calls):
                if completion.finish_reason == "length" and i == len(completion.tool_calls) - 1:
                    truncated.append(f"{call.name}: the completion hit max_tokens inside it")
                    continue
                name = resolve_tool_name(call.name, tool_names(self.tool_specs))
                if name is None:
                    return Parsed("invalid", error=f"unknown tool {call.name!r}")
                calls.append(ToolCall(name, call.arguments, call.id))
            return Parsed.calls_or_cut_off(calls, truncated, thought=completion.text.strip() or None)
        return self.format.parse(completion.text, self.tool_specs)

    def step(self, messages: list[Message], on_event: Any = None) -> Step:
        """Ask the model for one step (retrying format errors) and run its tool calls; the step
        carries its wall time and the tokens of every attempt."""
        started = self.clock()
        completions: list[Completion] = []
        step = self._step(messages, on_event or (lambda e: None), completions)
        step.seconds = self.clock() - started
        step.usage = TokenUsage.of(completions)
        return step

    def _step(self, messages: list[Message], emit: Any, completions: list[Completion]) -> Step:
        attempt_msgs = messages  # the caller's list itself: the render cache's append-only fast path
        if self.context is not None:
            attempt_msgs, info = self.context.fit(attempt_msgs, lambda m: self._renderer.render(m, self.tool_specs))
            if info is not None:
                emit(Event("context", info))
                if not info["fits"]:
                    return ContextOverflow("", f"the prompt needs {info['tokens_after']} tokens even after fitting; the window is {info['window']}")
        for attempt in range(self.max_format_retries + 1):
            completion = self.llm.complete(self.request(attempt_msgs), on_text=lambda t: emit(Event("token", {"text": t})))
            completions.append(completion)
            if self._cancel.is_set():
                return FormatErrorStep(completion.text, "cancelled")
            step = self.finish_step(completion, emit, history=messages)
            if not isinstance(step, FormatErrorStep):
                return step
            emit(Event("format_error", {"error": step.error, "raw": step.raw, "attempt": attempt + 1}))
            attempt_msgs = attempt_msgs + self.retry_messages(step)  # a new list: never the caller's
        return step

    def finish_step(self, completion: Completion, emit: Any = None, history: list[Message] | None = None) -> Step:
        """Turn one completion into a step, running its tool calls; an unparseable completion
        becomes a FormatErrorStep. Shared by `step` and batched drivers (corpus rollout).
        `history` (the conversation so far) lets a repeated identical call get a note instead."""
        emit = emit or (lambda e: None)
        step = self._finish_step(completion, emit, history)
        step.usage = TokenUsage.of([completion])
        return step

    def _finish_step(self, completion: Completion, emit: Any, history: list[Message] | None) -> Step:
        parsed = self.parse(completion)
        for cut in parsed.truncated:  # never run; the step says so
            emit(Event("truncated_call", {"call": cut}))
        if parsed.kind == "invalid":
            return FormatErrorStep(completion.text, parsed.error or "unparseable", truncated=list(parsed.truncated))
        thought = parsed.reasoning or parsed.thought  # a <think> block and the format's own thought
        if thought:
            emit(Event("thought", {"text": thought}))
        if parsed.kind == "final":
            emit(Event("final_answer", {"text": parsed.content, "strict": parsed.strict}))
            return FinalAnswerStep(thought, parsed.content or "", completion.text, parsed.strict)
        step = ActionStep(thought, parsed.calls, raw=completion.text, truncated=list(parsed.truncated))
        step.results = self.execute(parsed.calls, emit, history=history)
        return step

    def retry_messages(self, failed: FormatErrorStep) -> list[Message]:
        """What a retry adds to the prompt: the bad completion and the error fed back to the model.
        Only the retry prompt sees these; the canonical trajectory never does."""
        return [Message("assistant", failed.raw), Message("user", format_error_feedback(self.format, failed.error))]

    def execute(self, calls: list[ToolCall], emit: Any = None, history: list[Message] | None = None) -> list[ToolResult]:
        """Run one step's calls — several at once, at most `max_parallel_calls` — and return the
        results in call order. A call identical to an earlier one is not run again: its result
        is a note holding the earlier output (see agent.repeats)."""
        emit = emit or (lambda e: None)
        index = self._calls.update(history) if history is not None else None
        results: list[ToolResult | None] = [None] * len(calls)
        first_of: dict[str, int] = {}  # key -> the first call of this step with it
        twins: list[tuple[int, int]] = []  # (repeat, its first) within this step
        for i, call in enumerate(calls):
            emit(Event("tool_call", {"id": call.id, "name": call.name, "arguments": call.arguments}))
            key = call_key(call)
            earlier = index.results.get(key) if index is not None else None
            if earlier is not None or key in first_of:
                emit(Event("repeated_call", {"id": call.id, "name": call.name}))
            if earlier is not None:
                results[i] = ToolResult(call.name, repeat_note(call, earlier, self.format.lang), False, call.id)
            elif key in first_of:
                twins.append((i, first_of[key]))
            else:
                first_of[key] = i
        to_run = []
        for i in first_of.values():
            results[i] = self._remembered(calls[i], emit)
            if results[i] is None:
                to_run.append(i)
        for i, result in zip(to_run, run_calls(self.tools, [calls[i] for i in to_run], self.max_parallel_calls)):
            results[i] = result
            self._remember(calls[i], result)
        for i, first in twins:
            results[i] = ToolResult(calls[i].name, repeat_note(calls[i], results[first].output, self.format.lang), False, calls[i].id)  # type: ignore[union-attr]
        for call, result in zip(calls, results):
            assert result is not None
            emit(Event("observation", {"id": call.id, "name": call.name, "output": result.output, "is_error": result.is_error}))
        return [r for r in results if r is not None]

    def _remembered(self, call: ToolCall, emit: Any) -> ToolResult | None:
        """A fresh remembered result of exactly this call (freshness: Tool.ttl / time_sensitive)."""
        if self.memory is None or call.name in MEMORY_TOOLS or call.name not in self.tools:
            return None
        hit = self.memory.recall_result(self.tools.get(call.name), call.arguments)
        if hit is None:
            return None
        emit(Event("memory", {"reused": hit.id, "name": call.name, "age_s": round(self.memory.clock() - hit.created, 3)}))
        return ToolResult(call.name, hit.text, False, call.id)

    def _remember(self, call: ToolCall, result: ToolResult) -> None:
        if self.memory is not None and not result.is_error and call.name not in MEMORY_TOOLS and call.name in self.tools:
            self.memory.save(result.output, "result", call.name, call.arguments)

    def looping(self, messages: list[Message]) -> bool:
        """More identical repeated calls in `messages` than `max_repeats` allows."""
        return self._calls.update(messages).repeats > self.max_repeats

    # -- the loop -------------------------------------------------------------------------------
    def stream(self, messages: list[Message] | str, system: str | None = None) -> Iterator[Event]:
        """Run (or resume) until a final answer or max_steps, yielding events as they happen.
        The finished `Trajectory` is the value of the last event's `data["trajectory"]`."""
        events: queue.Queue[Any] = queue.Queue()
        holder: dict[str, Any] = {}

        def work() -> None:
            try:
                holder["trajectory"] = self.run(messages, system=system, on_event=events.put)
            except BaseException as exc:
                holder["error"] = exc
            finally:
                events.put(_DONE)

        threading.Thread(target=work, daemon=True).start()
        while (item := events.get()) is not _DONE:
            yield item
        if "error" in holder:
            raise holder["error"]
        traj = holder["trajectory"]
        yield Event("stopped", {"status": traj.status, "trajectory": traj}, len(traj.messages))

    def run(self, messages: list[Message] | str, system: str | None = None, on_event: Any = None) -> Trajectory:
        """The loop itself, synchronous; `on_event` receives every event."""
        self._cancel.clear()
        msgs = start_messages(messages, system)
        task = next((m.text for m in reversed(msgs) if m.role == "user"), "")
        self.offered = select_tools(self.tools, task, self.max_tools, always=MEMORY_TOOLS) if self.max_tools is not None else None
        traj = Trajectory(msgs, self.tool_specs)

        counted = [0, 0]  # messages seen, assistant messages among them: O(1) per event, not O(history)

        def emit(event: Event) -> None:
            if len(traj.messages) != counted[0]:  # most events (every streamed token) add no message
                for m in traj.messages[counted[0]:]:
                    counted[1] += m.role == "assistant"
                counted[0] = len(traj.messages)
            event.step = counted[1]
            traj.events.append(event) if event.kind != "token" else None
            if on_event:
                on_event(event)

        if self.offered is not None:
            emit(Event("tools_selected", {"tools": self.offered.names, "of": len(self.tools), "k": self.max_tools}))
        if self.memory is not None and self.auto_memory and msgs[-1].role == "user":
            found = lookup_messages(self.memory, task, self.tools)
            if found:
                msgs.extend(found)
                emit(Event("memory", {"lookup": task, "found": found[-1].text}))
        pending = pending_calls(msgs)
        if pending:  # resumed after an edit: run the edited calls first
            for r in self.execute(pending, emit):
                msgs.append(Message("tool", r.output, tool_call_id=r.call_id, name=r.name))
        elif msgs[-1].role == "assistant" and not msgs[-1].tool_calls:
            traj.status = Status.FINAL
            return traj
        taken = 0
        while taken < self.max_steps:
            if self._cancel.is_set():
                break
            step = self.step(msgs, emit)
            taken += 1
            if isinstance(step, FormatErrorStep):
                traj.status = Status.STOPPED if self._cancel.is_set() else Status.CONTEXT_OVERFLOW if isinstance(step, ContextOverflow) else Status.FORMAT_ERROR
                return traj
            msgs.extend(step.to_messages())
            if isinstance(step, FinalAnswerStep):
                traj.status = Status.FINAL
                if self.memory is not None:
                    self.memory.save(f"Task: {task}\nAnswer: {step.answer}", "task")
                return traj
            if self.looping(msgs):
                emit(Event("loop", {"repeats": self._calls.repeats, "limit": self.max_repeats}))
                traj.status = Status.LOOP
                return traj
        traj.status = Status.STOPPED if self._cancel.is_set() else Status.MAX_STEPS
        return traj


def format_error_feedback(fmt: PromptFormat, error: str) -> str:
    """The message fed back to the model after a completion it could not parse, in the format's
    language (prompts/format_error_*.txt). Here, not on the format: the formats are carried into
    the exported vLLM plugin, which parses only and has no prompts folder."""
    return fill("format_error", fmt.lang, error=error)


def start_messages(messages: list[Message] | str, system: str | None = None) -> list[Message]:
    if isinstance(messages, str):
        msgs = [Message("user", messages)]
    else:
        msgs = list(messages)
    if system and not (msgs and msgs[0].role == "system"):
        msgs.insert(0, Message("system", system))
    if not msgs:
        raise ValueError("nothing to run: give a question or messages")
    return msgs


def pending_calls(messages: list[Message]) -> list[ToolCall]:
    """Tool calls of the last assistant message that have no result yet."""
    last_assistant = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].role == "assistant"), None)
    if last_assistant is None or not messages[last_assistant].tool_calls:
        return []
    answered = {m.tool_call_id for m in messages[last_assistant + 1 :] if m.role == "tool"}
    return [c for c in messages[last_assistant].tool_calls if c.id not in answered]
