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

import inspect
from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

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
BACKEND_HELP = "Local backend: auto (llama.cpp for a .gguf when installed) | transformers | llamacpp | ort (onnxruntime-genai, fp32)"
ADAPTER_HELP = "LoRA adapter on top of --model: a PEFT folder (or a GGUF LoRA for llama.cpp)"
WEIGHTS_HELP = "Local transformers weights: fp32 (exact) | int8 (~2.5x faster decoding on CPU, approximate)"
FORMAT_HELP = "react | json | native"
CONSTRAIN_HELP = ("Hold tool calls to the offered tools and their JSON Schemas while decoding (a lazy grammar: text stays "
                  "free until a call opens); local transformers models only, json / react / native hermes formats")


# Option groups: the options several commands share, one group per concern. Each option is
# written once below (its flag, its usual help, its env var); a command whose use differs passes
# its own help to the factory, and takes its default from its own config. tests/test_cli_options.py
# holds every command to the groups (which commands take each option, with which help and default).

# -- output ---------------------------------------------------------------------------------------
OUT_FOLDER_HELP = "Output folder"
REPORT_FOLDER_HELP = "Report folder; also holds the per-item results a rerun resumes from"


def out_option(help: str = OUT_FOLDER_HELP) -> Any:
    """`--out`: what a command writes, a folder or a file (its help says which)."""
    return typer.Option("--out", help=help)


# -- generation limits ----------------------------------------------------------------------------
STEP_TOKENS_HELP = "Token budget per step"


def max_tokens_option(help: str = STEP_TOKENS_HELP) -> Any:
    """`--max-tokens`: the longest completion a command asks the model for."""
    return typer.Option("--max-tokens", help=help)


def agent_steps_option(help: str) -> Any:
    """`--max-steps` of a command that runs the agent: model steps per run (training's
    `--max-steps` counts optimizer steps: `training_option`)."""
    return typer.Option("--max-steps", help=help)


# -- batching -------------------------------------------------------------------------------------
GENERATED_TOGETHER_HELP = "Completions generated together"
ROWS_PER_MICRO_BATCH_HELP = "Rows per micro-batch"


def batch_size_option(help: str = GENERATED_TOGETHER_HELP) -> Any:
    """`--batch-size`: how many completions (or training rows) a command handles at once."""
    return typer.Option("--batch-size", help=help)


# -- training (train, sweep, recipe, specialize) ----------------------------------------------------
TRAINING_HELP = {
    "lr": "Peak learning rate",
    "rank": "LoRA rank",
    "batch_size": ROWS_PER_MICRO_BATCH_HELP,
    "grad_accum": "Micro-batches per optimizer step",
    "max_length": "Tokens per sample; longer samples are never truncated (see --overlong)",
    "max_steps": "Stop after this many optimizer steps (overrides --epochs)",
    "scheduler": "cosine | linear | constant, each after a linear warm-up from 0 (constant: the peak rate after the warm-up)",
    "save_steps": "Checkpoint every N steps (0: at the end)",
    "init_adapter": "Continue training this LoRA adapter folder instead of a fresh one (recipe v3 grows the shipped adapter)",
}


def training_option(name: str, help: str | None = None) -> Any:
    """A training option by its `TrainConfig` field name (`--max-length` for `max_length`), with
    `train`'s help unless the command words its use differently."""
    return typer.Option("--" + name.replace("_", "-"), help=help or TRAINING_HELP[name])


# -- model selection ------------------------------------------------------------------------------
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


def adapter_option(help: str = ADAPTER_HELP) -> Any:
    """`--adapter`: a LoRA adapter on top of `--model`."""
    return typer.Option("--adapter", help=help)


def compare_option(help: str = "Two models 'A,B' side by side, e.g. embedded-base,embedded") -> Any:
    """`--compare A,B`: two models side by side in one report."""
    return typer.Option("--compare", help=help)


# -- prompt ---------------------------------------------------------------------------------------
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

MaxTokensOpt = Annotated[int, max_tokens_option()]  # a step's budget (run, eval, rollout, annotate)

# The model options of every command that talks to a model (one help text each).
ModelOpt = Annotated[Optional[str], model_option()]
BaseUrlOpt = Annotated[Optional[str], base_url_option()]
ApiKeyOpt = Annotated[Optional[str], api_key_option()]
BackendOpt = Annotated[str, typer.Option("--backend", help=BACKEND_HELP)]
AdapterOpt = Annotated[Optional[str], adapter_option()]
CompareOpt = Annotated[Optional[str], compare_option()]
WeightsOpt = Annotated[str, weights_option()]
ConstrainOpt = Annotated[bool, constrain_option()]


F = TypeVar("F", bound=Callable[..., Any])


class OptionGroup:
    """Options several commands take together, declared once: each member's flag, help (its
    `Annotated` alias) and usual default. A command names the members it takes as bare
    keyword-only parameters (`*, model, adapter, base_url`) and `@GROUP` fills in each one's
    declaration before typer reads the signature; `@GROUP(backend="llamacpp")` gives a command
    its own default. The command's body sees ordinary parameters."""

    def __init__(self, **members: tuple[Any, Any]) -> None:
        self.members = members  # name -> (Annotated alias, default)

    def __call__(self, func: F | None = None, /, **defaults: Any) -> Any:
        def fill(f: F) -> F:
            sig = inspect.signature(f, eval_str=True)
            params = []
            for p in sig.parameters.values():
                if p.annotation is inspect.Parameter.empty:
                    if p.name not in self.members:
                        raise TypeError(f"{f.__name__}: parameter {p.name!r} has no declaration and is not an option of this group")
                    alias, default = self.members[p.name]
                    p = p.replace(annotation=alias, default=defaults.get(p.name, default))
                params.append(p)
            f.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
            return f

        return fill(func) if func is not None else fill


# Model selection: the model (or server) a command talks to.
MODEL_SELECTION = OptionGroup(model=(ModelOpt, None), adapter=(AdapterOpt, None), compare=(CompareOpt, None), base_url=(BaseUrlOpt, None),
                              api_key=(ApiKeyOpt, None), backend=(BackendOpt, "auto"), weights=(WeightsOpt, "fp32"))
