"""Option names shared by every command, so one concept has one flag across the CLI.

The corpus is `--data` everywhere (it may be a corpus.db or a .jsonl of samples); `--db` is
accepted as an alias because the corpus commands were documented with it.

Each shared option is written once here (its flag, its help, its environment variable); a command
that needs a different help for the same flag calls the factory with its own text, so the flag and
the env var still have one owner. Defaults come from the config dataclass a command fills
(`TrainConfig`, `RecipeConfig`, `EvalSettings`, ...), never restated; `config_from` then builds
that config from the command's parameters by field name instead of copying them one by one.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from tooltune.configs import config_from  # noqa: F401  (the commands build their configs with it)
from tooltune.lang import LANG_HELP

CORPUS_FLAGS = ("--data", "--db")
API_KEY_ENV = "OPENAI_API_KEY"  # the one env var every --api-key reads
DEFAULT_TOOLS = "calculator,current_time,web_search"  # built-in tools a command offers unless told
TOOLS_GRAMMAR_HELP = ("Tools, repeatable: built-in names (comma-separated) or builtins, a .py file or module with @tool functions, "
                      "an OpenAI tools .json file, mcp:stdio:COMMAND ARGS… or mcp:http(s)://URL")

BASE_URL_HELP = "OpenAI-compatible server, e.g. http://localhost:8000/v1"
API_KEY_HELP = "API key for --base-url"
MODEL_HELP = ("embedded (default: SmolLM2 + shipped adapter) | embedded-v2 (the previous adapter) | embedded-base | HF model folder | .gguf file; "
              "with --base-url, the served model name")
BACKEND_HELP = "Local backend: auto (llama.cpp for a .gguf when installed) | transformers | llamacpp"
ADAPTER_HELP = "LoRA adapter on top of --model: a PEFT folder (or a GGUF LoRA for llama.cpp)"
WEIGHTS_HELP = "Local transformers weights: fp32 (exact) | int8 (~2.5x faster decoding on CPU, approximate)"
FORMAT_HELP = "react | json | native"
CONSTRAIN_HELP = ("Hold tool calls to the offered tools and their JSON Schemas while decoding (a lazy grammar: text stays "
                  "free until a call opens); local transformers models only, json / react / native hermes formats")


def weights_option(help: str = WEIGHTS_HELP) -> Any:
    """`--weights fp32|int8` of every command that generates locally (see tooltune.llm.int8)."""
    return typer.Option("--weights", help=help)


def corpus_option(help: str) -> Any:
    """The corpus option of a command: `--data`, alias `--db`."""
    return typer.Option(*CORPUS_FLAGS, help=f"{help} (alias: --db)")


def base_url_option(help: str = BASE_URL_HELP) -> Any:
    """`--base-url`: the OpenAI-compatible server a command talks to instead of a local model."""
    return typer.Option("--base-url", help=help)


def api_key_option(help: str = API_KEY_HELP) -> Any:
    """`--api-key`, read from $OPENAI_API_KEY when not given."""
    return typer.Option("--api-key", envvar=API_KEY_ENV, help=help)


def model_option(help: str = MODEL_HELP) -> Any:
    """`--model`: a local model (or with --base-url the served one)."""
    return typer.Option("--model", help=help)


def format_option(help: str = FORMAT_HELP) -> Any:
    """`--format`: the prompt format (tooltune.formats)."""
    return typer.Option("--format", help=help)


def lang_option(help: str = f"Prompt language: {LANG_HELP}", flag: str = "--lang") -> Any:
    """`--lang` (or eval's `--prompt-lang`): the prompt language (tooltune.lang)."""
    return typer.Option(flag, help=help)


def tools_option(help: str = "Comma-separated built-in tools") -> Any:
    """`--tools`: which built-in tools a command offers."""
    return typer.Option("--tools", help=help)


def constrain_option() -> Any:
    """`--constrain/--no-constrain` of `run` and `eval` (see tooltune.formats.grammar)."""
    return typer.Option("--constrain/--no-constrain", help=CONSTRAIN_HELP)


McpConfigOpt = Annotated[Optional[str], typer.Option("--mcp-config", help='MCP servers from a {"mcpServers": {...}} file (the desktop clients\' layout), beside --tools')]

# The model options of every command that talks to a model (one help text each).
ModelOpt = Annotated[Optional[str], model_option()]
BaseUrlOpt = Annotated[Optional[str], base_url_option()]
ApiKeyOpt = Annotated[Optional[str], api_key_option()]
BackendOpt = Annotated[str, typer.Option("--backend", help=BACKEND_HELP)]
AdapterOpt = Annotated[Optional[str], typer.Option("--adapter", help=ADAPTER_HELP)]
CompareOpt = Annotated[Optional[str], typer.Option(help="Two models 'A,B' side by side, e.g. embedded-base,embedded")]
WeightsOpt = Annotated[str, weights_option()]
ConstrainOpt = Annotated[bool, constrain_option()]
