"""Option names shared by every command, so one concept has one flag across the CLI.

The corpus is `--data` everywhere (it may be a corpus.db or a .jsonl of samples); `--db` is
accepted as an alias because the corpus commands were documented with it.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

CORPUS_FLAGS = ("--data", "--db")


WEIGHTS_HELP = "Local transformers weights: fp32 (exact) | int8 (~2.5x faster decoding on CPU, approximate)"


def weights_option() -> Any:
    """`--weights fp32|int8` of every command that generates locally (see tooltune.llm.int8)."""
    return typer.Option("--weights", help=WEIGHTS_HELP)


def corpus_option(help: str) -> Any:
    """The corpus option of a command: `--data`, alias `--db`."""
    return typer.Option(*CORPUS_FLAGS, help=f"{help} (alias: --db)")


# The model options of every command that talks to a model (one help text each).
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="embedded (default: SmolLM2 + shipped adapter) | embedded-base | HF model folder | .gguf file; with --base-url, the served model name")]
BaseUrlOpt = Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1")]
ApiKeyOpt = Annotated[Optional[str], typer.Option("--api-key", envvar="OPENAI_API_KEY", help="API key for --base-url")]
BackendOpt = Annotated[str, typer.Option("--backend", help="Local backend: auto (llama.cpp for a .gguf when installed) | transformers | llamacpp")]
AdapterOpt = Annotated[Optional[str], typer.Option("--adapter", help="LoRA adapter on top of --model: a PEFT folder (or a GGUF LoRA for llama.cpp)")]


CONSTRAIN_HELP = ("Hold tool calls to the offered tools and their JSON Schemas while decoding (a lazy grammar: text stays "
                  "free until a call opens); local transformers models only, json / react / native hermes formats")


def constrain_option() -> Any:
    """`--constrain/--no-constrain` of `run` and `eval` (see tooltune.formats.grammar)."""
    return typer.Option("--constrain/--no-constrain", help=CONSTRAIN_HELP)
