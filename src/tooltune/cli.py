"""The `tooltune` command. Each package adds its subcommands through a `register(app)` hook, so
this file stays small; user mistakes (TooltuneError) print one line and exit 2, no traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from tooltune.cli_options import (
    DEFAULT_TOOLS, MODEL_SELECTION, TOOLS_GRAMMAR_HELP, McpConfigOpt, ConstrainOpt, MaxTokensOpt,
    agent_steps_option, format_option, lang_option, tools_option,
)
from tooltune.errors import TooltuneError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Teach language models to use tools, and run them as agents.")
console = Console()
err_console = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from tooltune import __version__

        print(f"tooltune {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit")] = False,
) -> None:
    """Teach language models to use tools, and run them as agents."""


def make_tools(sources: str | list[str] | None, search_dir: str | None = None, search_backend: str = "local", **mcp: Any):
    """The tools a command offers, from its --tools sources (tools/sources.py; all built-ins when none)."""
    from tooltune.tools.sources import load_tools

    if isinstance(sources, str):
        sources = [sources]
    return load_tools(sources or ["builtins"], search_dir=search_dir, search_backend=search_backend, **mcp)


def _confirm_on_terminal(name: str, arguments: dict) -> bool:
    """`run` without --execute: ask before a tool call that changes state (a terminal only)."""
    if not sys.stdin.isatty():
        return False
    return typer.confirm(f"run {name} {json.dumps(arguments, ensure_ascii=False)}? It may change state", default=False, err=True)


@app.command()
@MODEL_SELECTION
def run(
    question: Annotated[str, typer.Argument(help="The question for the agent")],
    tools: Annotated[list[str], tools_option(TOOLS_GRAMMAR_HELP)] = [DEFAULT_TOOLS],
    format: Annotated[str, format_option()] = "react",
    lang: Annotated[str, lang_option()] = "en",
    *, model, base_url, api_key, backend, weights, adapter,
    max_steps: Annotated[int, agent_steps_option("Stop after this many model steps")] = 6,
    max_tokens: MaxTokensOpt = 256,
    search_dir: Annotated[Optional[str], typer.Option(help="Folder of .txt/.md files for the local web_search")] = None,
    search_backend: Annotated[str, typer.Option(help="web_search backend: local | web")] = "local",
    system: Annotated[Optional[str], typer.Option(help="System prompt")] = None,
    tool_role: Annotated[str, typer.Option(help="Role that carries tool results where a format or server needs one: user | tool")] = "user",
    continue_mode: Annotated[str, typer.Option(help="With --base-url, how ReAct continues after an observation: fold | prefill")] = "fold",
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole trajectory as JSON at the end")] = False,
    save: Annotated[Optional[str], typer.Option(help="Save the trajectory to this JSON file")] = None,
    plan: Annotated[bool, typer.Option("--plan", help="Plan sub-tasks first, run each, retry/re-plan failures, reflect at the end")] = False,
    # PlanLimits' defaults, written out: importing tooltune.agent here would slow every command's start
    # by 0.15 s (tests/test_cli_options.py holds them equal)
    plan_steps: Annotated[int, typer.Option(help="With --plan: model steps for the whole run")] = 24,
    max_subtasks: Annotated[int, typer.Option(help="With --plan: sub-tasks per plan")] = 6,
    max_retries: Annotated[int, typer.Option(help="With --plan: retries of a failed sub-task")] = 1,
    max_replans: Annotated[int, typer.Option(help="With --plan: new plans after a failure")] = 1,
    max_tools: Annotated[Optional[int], typer.Option(help="Offer the model only the K tools that best match the task (BM25)")] = None,
    memory: Annotated[Optional[str], typer.Option(help="Long-term memory file (SQLite); adds memory_search/save/update")] = None,
    auto_memory: Annotated[bool, typer.Option(help="With --memory: look memory up before the run")] = False,
    context_window: Annotated[Optional[int], typer.Option(help="Fit each prompt into this many tokens (keeps system, task, latest steps)")] = None,
    max_repeats: Annotated[int, typer.Option(help="Identical repeated tool calls tolerated before stopping with status loop")] = 2,
    constrain: ConstrainOpt = True,
    execute: Annotated[bool, typer.Option("--execute", help="Let tools that change state (MCP tools without a read-only hint) run without asking")] = False,
    mcp_config: McpConfigOpt = None,
) -> None:
    """Answer QUESTION with an agent that can call tools, streaming every step."""
    from tooltune.agent import Agent
    from tooltune.agent.loop import check_limits
    from tooltune.agent.planning import PlanLimits
    from tooltune.llm import make_llm

    check_limits(max_steps, max_tokens, max_repeats, max_tools, context_window)  # before the slow model load
    limits = PlanLimits(max_subtasks, plan_steps, max_retries, max_replans)
    if plan:
        limits.check()
    store = None
    if memory:
        from tooltune.agent.memory import MemoryStore

        store = MemoryStore(memory)
    from tooltune.formats import get_format

    fmt = get_format(format, lang, tool_role)  # validate flags before the slow model load
    fmt.render([], [])
    registry = make_tools(tools, search_dir, search_backend, execute=execute, confirm=_confirm_on_terminal, mcp_config=mcp_config)
    out = err_console if as_json else console
    with out.status(f"loading {model or 'the embedded SmolLM2-135M-Instruct'}…"):
        # Start-up matters here: a local model keeps its prompt's KV cache on disk (the next `run`
        # skips that prefill) and runs without transformers' model code where that is exact.
        opts = {"continue_mode": continue_mode, "tool_role": tool_role} if base_url else {"disk_prefix": True, "lite": True}
        llm = make_llm(model, base_url, api_key, adapter=adapter, backend=backend, weights=weights, **opts)
    if hasattr(fmt, "use_model") and getattr(llm, "tokenizer", None) is not None:
        fmt.use_model(llm.tokenizer)  # native: the model family's own tool-call parser
    agent = Agent(
        llm, registry, fmt, lang, max_steps=max_steps, max_tokens=max_tokens, max_tools=max_tools, memory=store,
        auto_memory=auto_memory, context_window=context_window, max_repeats=max_repeats, constrain=constrain,
    )
    trajectory = _answer(agent, question, system, limits if plan else None, out)
    if save and trajectory:
        trajectory.save(save)
    if as_json and trajectory:
        print(json.dumps(trajectory.to_json(), ensure_ascii=False, indent=2))


def _answer(agent: Any, question: str, system: str | None, plan: Any, out: Any) -> Any:
    """`run`'s agent at work, every event printed as it comes; with `plan` (its PlanLimits) the
    planner drives the agent. Returns the trajectory (None if the run ended without one)."""
    if plan is not None:
        from tooltune.agent.planning import Planner

        result = Planner(agent, plan).run(question, system=system, on_event=lambda e: _print_event(out, e))
        style = "green" if result.status == "complete" else "yellow"
        out.print(f"[bold {style}]Plan {result.status}:[/] {escape(result.message)}" + (f"\n[bold green]Answer:[/] {escape(result.answer)}" if result.answer else ""))
        return result.trajectory
    trajectory = None
    for event in agent.stream(question, system=system):
        _print_event(out, event)
        if event.kind == "stopped":
            trajectory = event.data["trajectory"]
    return trajectory


def _print_event(out: Console, event: Any) -> None:
    """One streamed agent event, as the terminal shows it."""
    if event.kind == "token":
        out.print(event.data["text"], end="", style="dim", markup=False, highlight=False)
    elif event.kind == "tool_call":
        out.print(f"\n[bold cyan]→ {escape(event.data['name'])}[/] {escape(json.dumps(event.data['arguments'], ensure_ascii=False))}")
    elif event.kind == "observation":
        style = "red" if event.data["is_error"] else "green"
        out.print(f"[{style}]← {escape(event.data['output'][:500])}[/]", highlight=False)
    elif event.kind == "format_error":
        out.print(f"\n[yellow]format error (attempt {event.data['attempt']}): {escape(event.data['error'] or '')}[/]")
    elif event.kind == "final_answer":
        note = "" if event.data["strict"] else "  [dim](plain text: the model ignored the tool format)[/]"
        out.print(f"\n[bold green]Final answer:[/] {escape(event.data['text'])}{note}", highlight=False)
    elif event.kind == "plan":
        head = "re-plan" if event.data["replan"] else "plan"
        steps = "".join(f"\n  {i}. {escape(t)}" for i, t in enumerate(event.data["subtasks"], 1))
        out.print(f"\n[bold magenta]{head}:[/]{steps}", highlight=False)
    elif event.kind == "subtask":
        style = "green" if event.data["status"] == "done" else "red"
        note = f": {escape(event.data['error'])}" if event.data["error"] else ""
        out.print(f"[{style}]sub-task {event.data['index']} {event.data['status']} (attempt {event.data['attempt']}){note}[/]")
    elif event.kind == "reflection":
        out.print(f"\n[bold magenta]reflection:[/] {'complete' if event.data['complete'] else 'incomplete'} — {escape(event.data['text'])}")
    elif event.kind in ("context", "memory", "tools_selected", "loop", "repeated_call"):
        out.print(f"[dim]{event.kind}: {escape(json.dumps(event.data, ensure_ascii=False)[:300])}[/]", highlight=False)
    elif event.kind == "stopped" and "trajectory" in event.data:
        trajectory = event.data["trajectory"]
        out.print(f"[dim]status: {trajectory.status}, {len(trajectory.messages)} messages[/]")


@app.command("tools")
def list_tools(as_json: Annotated[bool, typer.Option("--json", help="Print OpenAI tool specs as JSON")] = False) -> None:
    """List the built-in tools with their JSON Schemas."""
    registry = make_tools(None)
    if as_json:
        print(json.dumps(registry.to_openai(), ensure_ascii=False, indent=2))
        return
    for t in registry:
        console.print(f"[bold]{t.name}[/]: {t.description}")
        console.print_json(json.dumps(t.parameters))


@app.command()
def parse(
    format: Annotated[str, format_option()] = "react",
    jsonl: Annotated[bool, typer.Option("--jsonl", help='Read lines {"format", "text", "tools"[, "tool_parser"]} from stdin')] = False,
    tools: Annotated[str, tools_option("Built-in tools to resolve names against (when a line gives none)")] = DEFAULT_TOOLS,
    tool_parser: Annotated[Optional[str], typer.Option("--tool-parser", help="native only: hermes | llama3 | mistral | qwen3-xml | deepseek | glm | kimi | gpt-oss | gemma")] = None,
    strict_tags: Annotated[bool, typer.Option("--strict-tags", help="json/native: a call only inside call tags; bare JSON is the answer's text")] = False,
) -> None:
    """Parse model completions from stdin into tool calls / a final answer, one JSON line each."""
    from tooltune.formats import get_format
    from tooltune.formats.batch import decode_lines, dumps_line, parse_line

    def build(name: str, parser: str | None):
        return get_format(name, tool_parser=parser, strict_tags=strict_tags)

    # a bad --format / --tool-parser is a one-line error up front (JSONL lines may name their own format)
    get_format(format, tool_parser=tool_parser, strict_tags=strict_tags and not jsonl)
    specs = make_tools(tools).to_openai()
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    if not jsonl:
        text = "".join(decode_lines(stdin))
        print(dumps_line(build(format, tool_parser).parse(text, specs).to_json()))
        return
    defaults = {"format": format, "tools": specs, "tool_parser": tool_parser}
    for lineno, line in enumerate(decode_lines(stdin), 1):
        print(dumps_line(parse_line(line, lineno, defaults, build)), flush=True)


# Which package module adds which commands (each through `register(app)`). Each module pulls in
# the configs its options take their defaults from (train's, eval's, ...: 0.1-0.2 s apiece), so
# the console script imports only the module of the command it runs; help, an unknown name, or
# `app` imported by a program or a test get them all. tests/test_cli_options.py checks the table.
COMMAND_MODULES = {
    "tooltune.data.commands": ("generate", "judge", "rollout", "import", "export", "corpus-stats"),
    "tooltune.train.commands": ("train", "merge", "sweep", "inspect-sample"),
    "tooltune.eval.commands": ("eval",),
    "tooltune.eval.bench_commands": ("bench",),
    "tooltune.serve.commands": ("serve",),
    "tooltune.export.commands": ("export-model",),
    "tooltune.annotate.commands": ("annotate",),
    "tooltune.recipe.commands": ("recipe",),
    "tooltune.recipe.specialize_commands": ("specialize",),
    "tooltune.eval.mine_commands": ("pairs",),
}


def _modules_for(argv: list[str]) -> list[str]:
    """The command modules to import for this process (see COMMAND_MODULES)."""
    if not argv or Path(argv[0]).stem != "tooltune":  # the console script (tooltune, tooltune.exe)
        return list(COMMAND_MODULES)
    name = next((arg for arg in argv[1:] if not arg.startswith("-")), None)
    if name in _OWN_COMMANDS:
        return []
    return [m for m, names in COMMAND_MODULES.items() if name in names] or list(COMMAND_MODULES)


def _register_subcommands(modules: list[str]) -> None:
    import importlib

    for module in modules:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        mod.register(app)


_OWN_COMMANDS = frozenset(c.name or c.callback.__name__ for c in app.registered_commands if c.callback)  # run, tools, parse
_register_subcommands(_modules_for(sys.argv))


def _usage_error_types() -> tuple[type[BaseException], ...]:
    """Typer >= 0.2x vendors its own click (typer._click); older typer uses click itself."""
    types: list[type[BaseException]] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            mod = __import__(module, fromlist=["ClickException"])
        except ImportError:
            continue
        types.append(mod.ClickException)
    return tuple(types)


def _show_usage_error(exc: BaseException) -> int:
    """One `error: …` line, then the usage line and where to get help; returns the exit code.

    A bare `tooltune` (no_args_is_help) prints the help instead: asking for nothing is not a mistake."""
    ctx = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
        print(ctx.get_help())
        return 0
    if ctx is None:
        ctx = _context_from_argv()
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if ctx is not None:
        help_flag = ctx.help_option_names[0] if ctx.help_option_names else "--help"
        err_console.print(f"{escape(ctx.get_usage())}\nTry '{escape(ctx.command_path)} {help_flag}' for help.", highlight=False, soft_wrap=True)
    return int(getattr(exc, "exit_code", 2) or 2)


def _context_from_argv():
    """Some parser errors carry no context; rebuild the one of the subcommand named on the line
    (without parsing anything) so the usage hint names the right command."""
    import typer.main

    group = typer.main.get_command(app)
    root = group.context_class(group, info_name="tooltune")
    name = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
    command = group.commands.get(name) if name else None
    return command.context_class(command, info_name=name, parent=root) if command else root


def main() -> None:
    """The console entry point: user mistakes exit 2 with one line, never a traceback."""
    try:
        app(standalone_mode=False, prog_name="tooltune")
    except TooltuneError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        raise SystemExit(130) from None
    except (typer.Abort, typer.Exit) as exc:
        raise SystemExit(getattr(exc, "exit_code", 1)) from None
    except _usage_error_types() as exc:
        raise SystemExit(_show_usage_error(exc)) from None


if __name__ == "__main__":
    main()
