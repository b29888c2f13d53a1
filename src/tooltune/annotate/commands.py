"""`tooltune annotate`: serve the annotation page for a corpus.db."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from tooltune.cli_options import (
    DEFAULT_TOOLS, TOOLS_GRAMMAR_HELP, McpConfigOpt, ApiKeyOpt, BaseUrlOpt, MaxTokensOpt, agent_steps_option, corpus_option, format_option, model_option, tools_option,
)
from tooltune.errors import TooltuneError


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`user:pass` -> (user, pass); the user name becomes the author of every revision."""
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise TooltuneError("--auth must look like user:password (both non-empty)")
    return user, password


def register(app: typer.Typer) -> None:
    @app.command()
    def annotate(
        db: Annotated[str, corpus_option("The corpus database to annotate")] = "corpus.db",
        host: Annotated[str, typer.Option(help="Address to bind; 127.0.0.1 keeps the page on this machine")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port of the page")] = 7860,
        model: Annotated[Optional[str], model_option("embedded (default), a HF folder or .gguf; with --base-url, the served model name")] = None,
        base_url: BaseUrlOpt = None,
        api_key: ApiKeyOpt = None,
        format: Annotated[str, format_option()] = "react",
        tools: Annotated[list[str], tools_option("Tools for questions that list none, repeatable: " + TOOLS_GRAMMAR_HELP)] = [DEFAULT_TOOLS],
        mcp_config: McpConfigOpt = None,
        max_steps: Annotated[int, agent_steps_option("Model steps for 'Run to end'")] = 6,
        max_tokens: MaxTokensOpt = 384,
        auth: Annotated[Optional[str], typer.Option(help="user:password login for the page")] = None,
    ) -> None:
        """Serve a page to step through agent runs, edit any step, continue from it, rate and save."""
        from pathlib import Path

        from tooltune.data.store import Store
        from tooltune.formats import get_format
        from tooltune.tools.sources import load_tools

        credentials = parse_auth(auth)
        if not Path(db).exists():
            raise TooltuneError(f"{db}: no such corpus: create it with `tooltune generate` or `tooltune import`, or fix --data")
        if not 0 < port < 65536:
            raise TooltuneError(f"--port must be 1..65535, not {port}")
        get_format(format)  # a bad --format fails before the model loads; each item renders in its own language
        try:
            import gradio  # noqa: F401
        except ModuleNotFoundError:
            raise TooltuneError("the annotation page needs gradio: pip install 'tooltune[annotate]'") from None
        registry = load_tools(tools, mcp_config=mcp_config)
        from tooltune.annotate.page import build_app, launch
        from tooltune.annotate.session import Annotator
        from tooltune.llm import make_llm

        llm = make_llm(model, base_url, api_key)
        annotator = Annotator(Store(db), llm, format, registry, model_name=model or "embedded", max_steps=max_steps, max_tokens=max_tokens)
        typer.echo(f"annotating {db} on http://{host}:{port}" + (" (login required)" if credentials else ""), err=True)
        launch(build_app(annotator), host, port, credentials)
