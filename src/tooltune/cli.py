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

ModelOpt = Annotated[Optional[str], typer.Option("--model", help="embedded (default: SmolLM2 + shipped adapter) | embedded-base | HF model folder | .gguf file; with --base-url, the served model name")]
BaseUrlOpt = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1")]
ApiKeyOpt = Annotated[Optional[str], typer.Option("--api-key", envvar="OPENAI_API_KEY", help="API key for --base-url")]
BackendOpt = Annotated[str, typer.Option("--backend", help="Local backend: auto (llama.cpp for a .gguf when installed) | transformers | llamacpp")]
AdapterOpt = Annotated[Optional[str], typer.Option("--adapter", help="LoRA adapter on top of --model: a PEFT folder (or a GGUF LoRA for llama.cpp)")]


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
    backend: BackendOpt = "auto",
    adapter: AdapterOpt = None,
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
        llm = make_llm(model, base_url, api_key, adapter=adapter, backend=backend, **server_opts)
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
    jsonl: Annotated[bool, typer.Option("--jsonl", help='Read lines {"format", "text", "tools"} from stdin')] = False,
    tools: Annotated[str, typer.Option(help="Built-in tools to resolve names against (single completion mode)")] = "calculator,current_time,web_search",
) -> None:
    """Parse model completions from stdin into tool calls / a final answer, one JSON line each."""
    from tooltune.formats import get_format

    if not jsonl:
        specs = make_tools(tools).to_openai()
        print(json.dumps(get_format(format).parse(sys.stdin.read(), specs).to_json(), ensure_ascii=False))
        return
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            fmt = get_format(item.get("format", format))
            specs = item.get("tools") or make_tools(tools).to_openai()
            result = fmt.parse(item["text"], specs).to_json()
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            result = {"kind": "invalid", "error": f"line {lineno}: bad input line ({type(exc).__name__}: {exc}); expected {{\"format\", \"text\", \"tools\"}}"}
        except TooltuneError as exc:
            result = {"kind": "invalid", "error": f"line {lineno}: {exc}"}
        print(json.dumps(result, ensure_ascii=False), flush=True)


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
