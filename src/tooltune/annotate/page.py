"""The annotation page (gradio): the layout, and each button wired to an `Annotator` method.

Nothing a person types is run as code: arguments are parsed as JSON and checked against the
tool's schema, the trajectory is shown as plain text (no markdown or HTML rendering), and the
only things that execute are the tools the agent already has. The server binds 127.0.0.1 unless
told otherwise and `--auth user:pass` puts a login in front of it; the logged-in name is the
author of every revision.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # the page never phones home
import gradio as gr  # noqa: E402

from tooltune.annotate.session import QUEUE_FILTERS, Annotator, Item, StepFields
from tooltune.data.store import StaleRevisionError
from tooltune.errors import TooltuneError

RUBRIC = [("5 · fully correct", 5), ("4 · minor flaws, usable", 4), ("3 · partly correct", 3), ("2 · major errors", 2),
          ("1 · core information wrong", 1), ("0 · content violation", 0)]
SHORTCUTS = {"KeyN": "next-btn", "KeyS": "save-btn", "KeyR": "reject-btn", "KeyZ": "undo-btn"}
SHORTCUTS_JS = """
<script>
document.addEventListener("keydown", (e) => {
  const ids = %s;
  if (!e.altKey || !(e.code in ids)) return;
  const button = document.getElementById(ids[e.code]);
  if (button) { e.preventDefault(); button.click(); }
});
</script>
""" % json.dumps(SHORTCUTS)
HELP = ("Pick an item · **Run one step** / **Run to end** · pick a step, edit it, **Continue from here** · rate · "
        "**Save as approved** (Alt+S) · **Reject** (Alt+R) · **Undo** (Alt+Z) · **Next** (Alt+N)")


def _user(request: gr.Request | None) -> str:
    return (getattr(request, "username", None) or "human") if request else "human"


def _chat(item: Item | None) -> list[dict[str, str]]:
    """The trajectory as chat bubbles, plain text, one per message (the system prompt is shown apart)."""
    if item is None:
        return []
    out, step = [], 0
    for m in item.messages:
        if m.role == "user":
            out.append({"role": "user", "content": m.text})
        elif m.role == "assistant":
            step += 1
            thought = f"Thought: {m.reasoning_content}\n" if m.reasoning_content else ""
            if m.tool_calls:
                calls = "\n".join(f"Call: {c.name} {json.dumps(c.arguments, ensure_ascii=False)}" for c in m.tool_calls)
                out.append({"role": "assistant", "content": f"Step {step}\n{thought}{calls}"})
            else:
                out.append({"role": "assistant", "content": f"Step {step} · final answer\n{thought}Answer: {m.text}"})
        elif m.role == "tool":
            out.append({"role": "assistant", "content": f"observation ({m.name}): {m.text}"})
    return out


def _step_choices(item: Item | None) -> list[tuple[str, int]]:
    if item is None:
        return []
    labels = []
    for n, i in enumerate(item.steps):
        m = item.messages[i]
        labels.append((f"Step {n + 1} · {', '.join(c.name for c in m.tool_calls) if m.tool_calls else 'final answer'}", n))
    return labels


def build_app(annotator: Annotator, title: str = "tooltune · annotate") -> gr.Blocks:
    """The page; `launch` serves it. Built around one Annotator (store + model): the widgets
    (`_layout`), what each does (`_Handlers`), and the two joined (`_wire`)."""
    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        w = _layout()
        _wire(demo, w, _Handlers(annotator, w))
    return demo


def _layout() -> SimpleNamespace:
    """The widgets, placed; called inside the page's `gr.Blocks`. Returns every widget by its name
    here, with `editor` (the step's fields) and `view_outputs` (what redrawing an item sets)."""
    item_state = gr.State(None)
    with gr.Row():
        gr.Markdown(f"## tooltune · annotate\n{HELP}")
        counts = gr.Markdown(elem_id="counts")
    with gr.Row():
        flt = gr.Radio(list(QUEUE_FILTERS), value="all", label="Status", elem_id="filter", scale=2)
        search = gr.Textbox(label="Search", placeholder="text in the question or trajectory", elem_id="search", scale=2)
        queue = gr.Dropdown([], label="Queue", elem_id="queue", scale=4, filterable=True)
        next_btn = gr.Button("Next ▶", elem_id="next-btn", scale=1)
    with gr.Row():
        notice = gr.Markdown(elem_id="notice")
        reload_btn = gr.Button("Load fresh version", elem_id="reload-btn", size="sm", visible=False)
    with gr.Row():
        with gr.Column(scale=3):
            trajectory = gr.Chatbot(label="Trajectory", elem_id="trajectory", height=420, render_markdown=False,
                                    sanitize_html=True, feedback_options=None, buttons=[],
                                    group_consecutive_messages=False)
            live = gr.Textbox(label="Model output (streaming)", elem_id="live", lines=3, interactive=False)
            with gr.Row():
                step_btn = gr.Button("Run one step", elem_id="step-btn")
                run_btn = gr.Button("Run to end", elem_id="run-btn")
            with gr.Accordion("System prompt and tools (read-only)", open=False):
                system = gr.Textbox(label="System prompt", interactive=False, lines=2, elem_id="system")
                tools = gr.Code(label="Tools", language="json", interactive=False, elem_id="tools")
        with gr.Column(scale=2):
            with gr.Row():
                step = gr.Dropdown([], label="Step", elem_id="step", scale=3)
                call = gr.Number(0, label="Call # (parallel calls)", precision=0, minimum=0, elem_id="call", scale=1)
            thought = gr.Textbox(label="Thought", lines=2, elem_id="thought")
            tool = gr.Textbox(label="Tool (empty = final answer)", elem_id="tool")
            arguments = gr.Textbox(label="Arguments (JSON, checked against the tool's schema)", lines=3, elem_id="arguments")
            observation = gr.Textbox(label="Observation", lines=2, elem_id="observation")
            answer = gr.Textbox(label="Final answer", lines=2, elem_id="answer")
            with gr.Row():
                apply_btn = gr.Button("Apply edit", elem_id="apply-btn")
                continue_btn = gr.Button("Continue from here", elem_id="continue-btn", variant="secondary")
            score = gr.Radio(RUBRIC, label="Rubric (4–5 usable)", elem_id="score")
            comment = gr.Textbox(label="Comment", elem_id="comment")
            with gr.Row():
                save_btn = gr.Button("Save as approved", variant="primary", elem_id="save-btn")
                reject_btn = gr.Button("Reject", variant="stop", elem_id="reject-btn")
                undo_btn = gr.Button("Undo", elem_id="undo-btn")
    history = gr.Dataframe(headers=["revision", "author", "when (UTC)", "changed", "status", "score"], label="History",
                           elem_id="history", interactive=False)

    editor = [thought, tool, arguments, observation, answer]
    view_outputs = [item_state, trajectory, step, *editor, system, tools, score, comment, history, counts, notice, reload_btn]
    return SimpleNamespace(**locals())


class _Handlers:
    """What each widget does: an `Annotator` call, then the item redrawn (`view`) or the error shown
    with everything the person typed left in place (`failed`); both give the values of
    `view_outputs`, in its order."""

    def __init__(self, annotator: Annotator, w: SimpleNamespace) -> None:
        self.ann = annotator
        self.view_outputs = w.view_outputs
        self.history_at = w.view_outputs.index(w.history)

    def counts_md(self) -> str:
        c = self.ann.counts()
        return f"**approved {c['approved']}** · **rejected {c['rejected']}** · **remaining {c['remaining']}**"

    def fields(self, item: Item | None, n: int | None, k: int = 0) -> list[Any]:
        if item is None or n is None:
            return ["", "", "", "", ""]
        f = self.ann.step_fields(item, int(n), int(k or 0))
        return [f.thought, f.tool, f.arguments, f.observation, f.answer]

    def view(self, item: Item | None, message: str = "", stale: bool = False, n: int | None = None) -> list[Any]:
        steps = _step_choices(item)
        n = n if n is not None and n < len(steps) else (len(steps) - 1 if steps else None)
        system_text = next((m.text for m in item.messages if m.role == "system"), "(no system message: the format's tool prompt is used)") if item else ""
        return [item, _chat(item), gr.update(choices=steps, value=n), *self.fields(item, n), system_text,
                json.dumps(item.tools, ensure_ascii=False, indent=1) if item else "", item.human_score if item else None,
                item.human_comment if item else "", self.ann.history(item) if item else [], self.counts_md(), message,
                gr.update(visible=stale)]

    def failed(self, item: Item | None, exc: Exception) -> list[Any]:
        """Show the error; leave everything the person typed in place."""
        out = [gr.skip()] * len(self.view_outputs)
        out[-2] = f"**Error:** {exc}"
        if isinstance(exc, StaleRevisionError):
            out[-2] = (f"**Not saved:** {exc}. Your edit is still in the fields; press **Load fresh version** to see "
                       "the saved one (see History for who saved it), then apply your edit again.")
            out[-1] = gr.update(visible=True)
            out[self.history_at] = self.ann.history(item) if item else []
        return out

    def refresh_queue(self, status: str, text: str, current: Item | None = None) -> Any:
        choices = self.ann.queue(status, text or "")
        keys = [k for _, k in choices]
        return gr.update(choices=choices, value=current.key if current and current.key in keys else None)

    def open_item(self, key: str | None) -> list[Any]:
        if not key:
            return self.view(None, "Pick an item from the queue.")
        try:
            return self.view(self.ann.open(key), f"Opened {key[0].upper()}{key[1:]}.")
        except TooltuneError as exc:
            return self.failed(None, exc)

    def next_item(self, status: str, text: str, current: Item | None) -> list[Any]:
        keys = [k for _, k in self.ann.queue(status, text or "")]
        if not keys:
            return [gr.update(value=None), *self.view(None, "The queue is empty for this filter.")]
        pos = keys.index(current.key) + 1 if current and current.key in keys else 0
        key = keys[pos % len(keys)]
        return [gr.update(choices=self.ann.queue(status, text or ""), value=key), *self.open_item(key)]

    def apply_edit(self, item, n, k, th, tl, args, obs, ans, request: gr.Request):
        try:
            if item is None or n is None:
                raise TooltuneError("open an item and pick a step first")
            item = self.ann.apply(item, _user(request), self.ann.edited(item, int(n), StepFields(th, tl, args, obs, ans), int(k or 0)))
            return self.view(item, f"Edit stored as revision {item.revision}; **Continue from here** runs the agent from it.", n=n)
        except TooltuneError as exc:
            return self.failed(item, exc)

    def run(self, item: Item | None, max_steps: int | None, message: str = "") -> Iterator[list[Any]]:
        if item is None:
            yield self.failed(None, TooltuneError("open an item first")) + [gr.skip()]
            return
        skip = [gr.skip()] * len(self.view_outputs)
        text = ""
        try:
            for text, done in self.ann.run(item, max_steps):
                if done is None:
                    yield skip + [text]
                else:
                    yield self.view(done, message + "Model steps not saved yet: **Save**, edit, or **Undo** them.") + [text]
        except Exception as exc:  # a backend failure is shown, never a crash of the page
            yield skip[:-2] + [f"**The model failed:** {exc}", gr.skip(), text]

    def continue_from(self, item, n, k, th, tl, args, obs, ans, request: gr.Request):
        message = ""
        if item is not None and n is not None:
            try:
                new = self.ann.edited(item, int(n), StepFields(th, tl, args, obs, ans), int(k or 0))
                if new != item.messages:
                    item = self.ann.apply(item, _user(request), new)
                    message = f"Edit stored as revision {item.revision}. "
            except TooltuneError as exc:
                yield self.failed(item, exc) + [gr.skip()]
                return
        yield from self.run(item, None, message)

    def save(self, status: str):
        def handler(item, rubric, note, flt_value, text, request: gr.Request):
            if item is None:
                return [*self.failed(None, TooltuneError("open an item first")), gr.skip()]
            try:
                item = self.ann.save(item, _user(request), status, None if rubric is None else int(rubric), note or "")
            except TooltuneError as exc:
                return [*self.failed(item, exc), gr.skip()]
            return [*self.view(item, f"Saved as **{status}** (revision {item.revision}). Alt+N for the next item."),
                    self.refresh_queue(flt_value, text, item)]
        return handler

    def undo(self, item, request: gr.Request):
        if item is None:
            return self.failed(None, TooltuneError("open an item first"))
        try:
            item = self.ann.undo(item, _user(request))
            return self.view(item, "Undone." + (f" Now at revision {item.revision}." if item.revision else ""))
        except TooltuneError as exc:
            return self.failed(item, exc)


def _wire(demo: gr.Blocks, w: SimpleNamespace, h: _Handlers) -> None:
    """Each widget's events, to their handlers."""
    demo.load(lambda: (h.refresh_queue("all", ""), h.counts_md()), outputs=[w.queue, w.counts])
    w.flt.change(h.refresh_queue, [w.flt, w.search, w.item_state], w.queue)
    w.search.submit(h.refresh_queue, [w.flt, w.search, w.item_state], w.queue)
    w.queue.input(h.open_item, w.queue, w.view_outputs)
    w.next_btn.click(h.next_item, [w.flt, w.search, w.item_state], [w.queue, *w.view_outputs])
    w.reload_btn.click(lambda item: h.open_item(item.key if item else None), w.item_state, w.view_outputs)
    w.step.input(lambda item, n: h.fields(item, n), [w.item_state, w.step], w.editor)
    w.call.change(lambda item, n, k: h.fields(item, n, k), [w.item_state, w.step, w.call], w.editor)
    w.apply_btn.click(h.apply_edit, [w.item_state, w.step, w.call, *w.editor], w.view_outputs)
    # One model run at a time across all users: a local model is not shared by concurrent generations.
    model = {"concurrency_limit": 1, "concurrency_id": "model"}
    w.continue_btn.click(h.continue_from, [w.item_state, w.step, w.call, *w.editor], [*w.view_outputs, w.live], **model)
    w.step_btn.click(lambda item: (yield from h.run(item, 1)), w.item_state, [*w.view_outputs, w.live], **model)
    w.run_btn.click(lambda item: (yield from h.run(item, None)), w.item_state, [*w.view_outputs, w.live], **model)
    w.save_btn.click(h.save("approved"), [w.item_state, w.score, w.comment, w.flt, w.search], [*w.view_outputs, w.queue])
    w.reject_btn.click(h.save("rejected"), [w.item_state, w.score, w.comment, w.flt, w.search], [*w.view_outputs, w.queue])
    w.undo_btn.click(h.undo, w.item_state, w.view_outputs)


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           block: bool = True) -> Any:
    """Serve the page (keyboard shortcuts included); `block=False` returns at once (tests)."""
    demo.queue(default_concurrency_limit=4)
    return demo.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=not block, head=SHORTCUTS_JS,
                       ssr_mode=False, quiet=not block, footer_links=[], mcp_server=False, pwa=False)
