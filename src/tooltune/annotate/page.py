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


def build_app(annotator: Annotator, title: str = "tooltune · annotate") -> gr.Blocks:  # noqa: C901 - the layout
    """The page; `launch` serves it. Built around one Annotator (store + model)."""
    ann = annotator
    with gr.Blocks(title=title, analytics_enabled=False) as demo:
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

        def counts_md() -> str:
            c = ann.counts()
            return f"**approved {c['approved']}** · **rejected {c['rejected']}** · **remaining {c['remaining']}**"

        def fields(item: Item | None, n: int | None, k: int = 0) -> list[Any]:
            if item is None or n is None:
                return ["", "", "", "", ""]
            f = ann.step_fields(item, int(n), int(k or 0))
            return [f.thought, f.tool, f.arguments, f.observation, f.answer]

        def view(item: Item | None, message: str = "", stale: bool = False, n: int | None = None) -> list[Any]:
            steps = _step_choices(item)
            n = n if n is not None and n < len(steps) else (len(steps) - 1 if steps else None)
            system_text = next((m.text for m in item.messages if m.role == "system"), "(no system message: the format's tool prompt is used)") if item else ""
            return [item, _chat(item), gr.update(choices=steps, value=n), *fields(item, n), system_text,
                    json.dumps(item.tools, ensure_ascii=False, indent=1) if item else "", item.human_score if item else None,
                    item.human_comment if item else "", ann.history(item) if item else [], counts_md(), message,
                    gr.update(visible=stale)]

        def failed(item: Item | None, exc: Exception) -> list[Any]:
            """Show the error; leave everything the person typed in place."""
            out = [gr.skip()] * len(view_outputs)
            out[-2] = f"**Error:** {exc}"
            if isinstance(exc, StaleRevisionError):
                out[-2] = (f"**Not saved:** {exc}. Your edit is still in the fields; press **Load fresh version** to see "
                           "the saved one (see History for who saved it), then apply your edit again.")
                out[-1] = gr.update(visible=True)
                out[view_outputs.index(history)] = ann.history(item) if item else []
            return out

        def refresh_queue(status: str, text: str, current: Item | None = None) -> Any:
            choices = ann.queue(status, text or "")
            keys = [k for _, k in choices]
            return gr.update(choices=choices, value=current.key if current and current.key in keys else None)

        def open_item(key: str | None) -> list[Any]:
            if not key:
                return view(None, "Pick an item from the queue.")
            try:
                return view(ann.open(key), f"Opened {key[0].upper()}{key[1:]}.")
            except TooltuneError as exc:
                return failed(None, exc)

        def next_item(status: str, text: str, current: Item | None) -> list[Any]:
            keys = [k for _, k in ann.queue(status, text or "")]
            if not keys:
                return [gr.update(value=None), *view(None, "The queue is empty for this filter.")]
            pos = keys.index(current.key) + 1 if current and current.key in keys else 0
            key = keys[pos % len(keys)]
            return [gr.update(choices=ann.queue(status, text or ""), value=key), *open_item(key)]

        def apply_edit(item, n, k, th, tl, args, obs, ans, request: gr.Request):
            try:
                if item is None or n is None:
                    raise TooltuneError("open an item and pick a step first")
                item = ann.apply(item, _user(request), ann.edited(item, int(n), StepFields(th, tl, args, obs, ans), int(k or 0)))
                return view(item, f"Edit stored as revision {item.revision}; **Continue from here** runs the agent from it.", n=n)
            except TooltuneError as exc:
                return failed(item, exc)

        def run(item: Item | None, max_steps: int | None, message: str = "") -> Iterator[list[Any]]:
            if item is None:
                yield failed(None, TooltuneError("open an item first")) + [gr.skip()]
                return
            skip = [gr.skip()] * len(view_outputs)
            text = ""
            try:
                for text, done in ann.run(item, max_steps):
                    if done is None:
                        yield skip + [text]
                    else:
                        yield view(done, message + "Model steps not saved yet: **Save**, edit, or **Undo** them.") + [text]
            except Exception as exc:  # a backend failure is shown, never a crash of the page
                yield skip[:-2] + [f"**The model failed:** {exc}", gr.skip(), text]

        def continue_from(item, n, k, th, tl, args, obs, ans, request: gr.Request):
            message = ""
            if item is not None and n is not None:
                try:
                    new = ann.edited(item, int(n), StepFields(th, tl, args, obs, ans), int(k or 0))
                    if new != item.messages:
                        item = ann.apply(item, _user(request), new)
                        message = f"Edit stored as revision {item.revision}. "
                except TooltuneError as exc:
                    yield failed(item, exc) + [gr.skip()]
                    return
            yield from run(item, None, message)

        def save(status: str):
            def handler(item, rubric, note, flt_value, text, request: gr.Request):
                if item is None:
                    return [*failed(None, TooltuneError("open an item first")), gr.skip()]
                try:
                    item = ann.save(item, _user(request), status, None if rubric is None else int(rubric), note or "")
                except TooltuneError as exc:
                    return [*failed(item, exc), gr.skip()]
                return [*view(item, f"Saved as **{status}** (revision {item.revision}). Alt+N for the next item."),
                        refresh_queue(flt_value, text, item)]
            return handler

        def undo(item, request: gr.Request):
            if item is None:
                return failed(None, TooltuneError("open an item first"))
            try:
                item = ann.undo(item, _user(request))
                return view(item, "Undone." + (f" Now at revision {item.revision}." if item.revision else ""))
            except TooltuneError as exc:
                return failed(item, exc)

        demo.load(lambda: (refresh_queue("all", ""), counts_md()), outputs=[queue, counts])
        flt.change(refresh_queue, [flt, search, item_state], queue)
        search.submit(refresh_queue, [flt, search, item_state], queue)
        queue.input(open_item, queue, view_outputs)
        next_btn.click(next_item, [flt, search, item_state], [queue, *view_outputs])
        reload_btn.click(lambda item: open_item(item.key if item else None), item_state, view_outputs)
        step.input(lambda item, n: fields(item, n), [item_state, step], editor)
        call.change(lambda item, n, k: fields(item, n, k), [item_state, step, call], editor)
        apply_btn.click(apply_edit, [item_state, step, call, *editor], view_outputs)
        # One model run at a time across all users: a local model is not shared by concurrent generations.
        model = {"concurrency_limit": 1, "concurrency_id": "model"}
        continue_btn.click(continue_from, [item_state, step, call, *editor], [*view_outputs, live], **model)
        step_btn.click(lambda item: (yield from run(item, 1)), item_state, [*view_outputs, live], **model)
        run_btn.click(lambda item: (yield from run(item, None)), item_state, [*view_outputs, live], **model)
        save_btn.click(save("approved"), [item_state, score, comment, flt, search], [*view_outputs, queue])
        reject_btn.click(save("rejected"), [item_state, score, comment, flt, search], [*view_outputs, queue])
        undo_btn.click(undo, item_state, view_outputs)
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, auth: tuple[str, str] | None = None,
           block: bool = True) -> Any:
    """Serve the page (keyboard shortcuts included); `block=False` returns at once (tests)."""
    demo.queue(default_concurrency_limit=4)
    return demo.launch(server_name=host, server_port=port, auth=auth, prevent_thread_lock=not block, head=SHORTCUTS_JS,
                       ssr_mode=False, quiet=not block, footer_links=[], mcp_server=False, pwa=False)
