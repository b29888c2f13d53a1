"""Option names shared by every command, so one concept has one flag across the CLI.

The corpus is `--data` everywhere (it may be a corpus.db or a .jsonl of samples); `--db` is
accepted as an alias because the corpus commands were documented with it.
"""

from __future__ import annotations

from typing import Any

import typer

CORPUS_FLAGS = ("--data", "--db")


WEIGHTS_HELP = "Local transformers weights: fp32 (exact) | int8 (~2.5x faster decoding on CPU, approximate)"


def weights_option() -> Any:
    """`--weights fp32|int8` of every command that generates locally (see tooltune.llm.int8)."""
    return typer.Option("--weights", help=WEIGHTS_HELP)


def corpus_option(help: str) -> Any:
    """The corpus option of a command: `--data`, alias `--db`."""
    return typer.Option(*CORPUS_FLAGS, help=f"{help} (alias: --db)")


CONSTRAIN_HELP = ("Hold tool calls to the offered tools and their JSON Schemas while decoding (a lazy grammar: text stays "
                  "free until a call opens); local transformers models only, json / react / native hermes formats")


def constrain_option() -> Any:
    """`--constrain/--no-constrain` of `run` and `eval` (see tooltune.formats.grammar)."""
    return typer.Option("--constrain/--no-constrain", help=CONSTRAIN_HELP)
