"""`tooltune serve`: the OpenAI-compatible server (`tooltune export-model` is in tooltune.export)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console

from tooltune.cli_options import adapter_option, format_option, lang_option, max_tokens_option, model_option, weights_option
from tooltune.errors import TooltuneError
from tooltune.lang import LANG_HELP
from tooltune.serve.limits import Limits

console = Console(stderr=True)

ModelOpt = Annotated[str, model_option("embedded | embedded-v2 | embedded-base | HF model folder | .gguf file")]
AdapterOpt = Annotated[Optional[str], adapter_option("PEFT LoRA folder applied on top of --model")]


def serve(
    model: ModelOpt = "embedded",
    adapter: AdapterOpt = None,
    weights: Annotated[str, weights_option()] = "fp32",
    format: Annotated[str, format_option("json | react | native: the layout the model was tuned on")] = "json",
    lang: Annotated[str, lang_option(f"Prompt language of the format: {LANG_HELP}")] = "en",
    host: Annotated[str, typer.Option(help="Interface to bind (127.0.0.1 = this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="TOOLTUNE_API_KEY", help="Require 'Authorization: Bearer KEY'")] = None,
    served_name: Annotated[Optional[str], typer.Option(help="Model id clients must send (default: the --model value)")] = None,
    max_batch: Annotated[int, typer.Option(help="Most requests generated together")] = 8,
    max_queue: Annotated[int, typer.Option(help="Waiting requests beyond this get 429")] = 64,
    max_tokens: Annotated[int, max_tokens_option("Default max_tokens when a request sets none")] = 512,
    max_request_bytes: Annotated[int, typer.Option(help="Larger request bodies get 413")] = Limits.max_request_bytes,
    max_messages: Annotated[int, typer.Option(help="More messages in one request get 400")] = Limits.max_messages,
    max_tools: Annotated[int, typer.Option(help="More tools in one request get 400")] = Limits.max_tools,
    request_timeout: Annotated[float, typer.Option(help="Seconds a request may take, queue included; then 504 and its generation stops")] = Limits.request_timeout,
) -> None:
    """Serve a model behind the OpenAI chat-completions API, with tool calls and streaming."""
    from tooltune.formats import get_format
    from tooltune.serve.app import create_app, serve_forever
    from tooltune.serve.model import load_llm

    fmt = get_format(format, lang)
    if not (0 < port < 65536) or min(max_batch, max_queue, max_tokens, max_request_bytes, max_messages, max_tools) < 1:
        raise TooltuneError("--port must be 1-65535 and --max-batch/--max-queue/--max-tokens/--max-request-bytes/"
                            "--max-messages/--max-tools at least 1")
    if request_timeout <= 0:
        raise TooltuneError(f"--request-timeout {request_timeout:g}: give a positive number of seconds")
    limits = Limits(max_request_bytes, max_messages, max_tools, request_timeout)
    with console.status(f"loading {model}…"):
        llm = load_llm(model, adapter, weights)
    app = create_app(llm, fmt, served_name or model, api_key, max_batch, max_queue, max_tokens, limits)
    console.print(f"serving {served_name or model} ({format} format) on http://{host}:{port}/v1 — Ctrl-C stops")
    serve_forever(app, host, port)


def register(app: typer.Typer) -> None:
    app.command()(serve)
