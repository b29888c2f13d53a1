"""The `tooltune` command. Each package adds its subcommands through a `register(app)` hook, so
this file stays small; user mistakes (TooltuneError) print one line and exit 2, no traceback."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from tooltune.errors import TooltuneError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Teach language models to use tools, and run them as agents.")
console = Console()
err_console = Console(stderr=True)

ModelOpt = Annotated[Optional[str], typer.Option("--model", help="HF model folder or .gguf file (default: embedded SmolLM2); with --base-url, the served model name")]
BaseUrlOpt = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1")]
ApiKeyOpt = Annotated[Optional[str], typer.Option("--api-key", envvar="OPENAI_API_KEY", help="API key for --base-url")]


def make_tools(names: str | None, search_dir: str | None = None, search_backend: str = "local"):
    from tooltune.tools import builtin_registry

    registry = builtin_registry(search_dir, search_backend)
    return registry.select(names.split(",")) if names else registry


@app.command()
def run(
    question: Annotated[str, typer.Argument(help="The question for the agent")],
    tools: Annotated[str, typer.Option(help="Comma-separated built-in tools")] = "calculator,current_time,web_search",
    format: Annotated[str, typer.Option("--format", help="react | json | native")] = "react",
    lang: Annotated[str, typer.Option(help="Prompt language: en | zh")] = "en",
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    max_steps: Annotated[int, typer.Option(help="Stop after this many model steps")] = 6,
    max_tokens: Annotated[int, typer.Option(help="Token budget per step")] = 256,
    search_dir: Annotated[Optional[str], typer.Option(help="Folder of .txt/.md files for the local web_search")] = None,
    search_backend: Annotated[str, typer.Option(help="web_search backend: local | web")] = "local",
    system: Annotated[Optional[str], typer.Option(help="System prompt")] = None,
    tool_role: Annotated[str, typer.Option(help="Role that carries tool results where a format or server needs one: user | tool")] = "user",
    continue_mode: Annotated[str, typer.Option(help="With --base-url, how ReAct continues after an observation: fold | prefill")] = "fold",
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole trajectory as JSON at the end")] = False,
    save: Annotated[Optional[str], typer.Option(help="Save the trajectory to this JSON file")] = None,
) -> None:
    """Answer QUESTION with an agent that can call tools, streaming every step."""
    from tooltune.agent import Agent
    from tooltune.llm import make_llm

    if max_steps < 1:
        raise TooltuneError("--max-steps must be at least 1")
    from tooltune.formats import get_format

    fmt = get_format(format, lang, tool_role)  # validate flags before the slow model load
    fmt.render([], [])
    registry = make_tools(tools, search_dir, search_backend)
    out = err_console if as_json else console
    with out.status(f"loading {model or 'the embedded SmolLM2-135M-Instruct'}…"):
        server_opts = {"continue_mode": continue_mode, "tool_role": tool_role} if base_url else {}
        llm = make_llm(model, base_url, api_key, **server_opts)
    if hasattr(fmt, "use_model") and getattr(llm, "tokenizer", None) is not None:
        fmt.use_model(llm.tokenizer)  # native: the model family's own tool-call parser
    agent = Agent(llm, registry, fmt, lang, max_steps=max_steps, max_tokens=max_tokens)
    trajectory = None
    for event in agent.stream(question, system=system):
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
        elif event.kind == "stopped":
            trajectory = event.data["trajectory"]
            out.print(f"[dim]status: {trajectory.status}, {len(trajectory.messages)} messages[/]")
    if save and trajectory:
        trajectory.save(save)
    if as_json and trajectory:
        print(json.dumps(trajectory.to_json(), ensure_ascii=False, indent=2))


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
    format: Annotated[str, typer.Option("--format", help="react | json | native")] = "react",
    jsonl: Annotated[bool, typer.Option("--jsonl", help='Read lines {"format", "text", "tools"[, "tool_parser"]} from stdin')] = False,
    tools: Annotated[str, typer.Option(help="Built-in tools to resolve names against (when a line gives none)")] = "calculator,current_time,web_search",
    tool_parser: Annotated[Optional[str], typer.Option("--tool-parser", help="native only: hermes | llama3 | mistral | qwen3-xml | deepseek | glm | kimi | gpt-oss | gemma")] = None,
) -> None:
    """Parse model completions from stdin into tool calls / a final answer, one JSON line each."""
    from tooltune.formats import get_format
    from tooltune.formats.batch import decode_lines, dumps_line, parse_line

    def build(name: str, parser: str | None):
        return get_format(name, tool_parser=parser) if parser else get_format(name)

    build(format, tool_parser)  # a bad --format / --tool-parser is a one-line error up front
    specs = make_tools(tools).to_openai()
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    if not jsonl:
        text = "".join(decode_lines(stdin))
        print(dumps_line(build(format, tool_parser).parse(text, specs).to_json()))
        return
    defaults = {"format": format, "tools": specs, "tool_parser": tool_parser}
    for lineno, line in enumerate(decode_lines(stdin), 1):
        print(dumps_line(parse_line(line, lineno, defaults, build)), flush=True)


def _register_subcommands() -> None:
    """Packages that add commands expose `register(app)` in their `commands` module."""
    import importlib

    for module in ("tooltune.data.commands", "tooltune.train.commands", "tooltune.eval.commands", "tooltune.serve.commands"):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        mod.register(app)


_register_subcommands()


def main() -> None:
    try:
        app(standalone_mode=False)
    except TooltuneError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        raise SystemExit(130) from None
    except (typer.Abort, typer.Exit) as exc:
        raise SystemExit(getattr(exc, "exit_code", 1)) from None
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        raise


if __name__ == "__main__":
    main()
