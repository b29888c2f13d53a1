"""The option groups of cli_options.py (output, generation limits, batching, model selection,
training, prompt): which commands take each shared option, with which help and default. A command
that loses a shared option, gains one, or drifts from the group's help or from its own default
shows here; so does a command that declares a shared option inline instead of through the group."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from tooltune.cli import app
from tooltune.cli_options import (
    ADAPTER_HELP, API_KEY_HELP, BACKEND_HELP, BASE_URL_HELP, FORMAT_HELP, GENERATED_TOGETHER_HELP, MODEL_HELP, OUT_FOLDER_HELP, REPORT_FOLDER_HELP,
    LANG_HELP, STEP_TOKENS_HELP, TRAINING_HELP, WEIGHTS_HELP,
)

GROUPS = {
    # output
    '--out': {
        'bench bfcl': ('bench_report', REPORT_FOLDER_HELP),
        'bench chat': (None, 'Write every answer with its verdict to this JSON file'),
        'eval': ('eval_report', REPORT_FOLDER_HELP),
        'export': (None, 'JSONL file to write'),
        'export-model': (None, 'New folder to write (must not exist or be empty)'),
        'merge': (None, 'Where to write the merged HF model folder'),
        'pairs mine': ('pairs.jsonl', 'Where to write the pairs (TRL rows, as `export --format dpo`); a report goes beside it'),
        'recipe': ('runs/smollm2-tools', 'Output folder; a rerun skips finished stages and resumes training'),
        'specialize': (None, 'Output folder; rerunning the same command resumes'),
        'sweep': ('runs/sweep', 'Output folder for runs, sweep.png and sweep.csv'),
        'train': ('runs/train', OUT_FOLDER_HELP),
    },
    # generation limits
    '--max-tokens': {
        'annotate': (384, STEP_TOKENS_HELP),
        'bench bfcl': (256, 'Token budget per completion'),
        'eval': (256, STEP_TOKENS_HELP),
        'generate': (400, 'Token budget per request'),
        'judge': (96, 'Token budget per verdict'),
        'pairs mine': (256, STEP_TOKENS_HELP),
        'rollout': (256, STEP_TOKENS_HELP),
        'run': (256, STEP_TOKENS_HELP),
        'serve': (512, 'Default max_tokens when a request sets none'),
    },
    '--max-steps': {
        'annotate': (6, "Model steps for 'Run to end'"),
        'rollout': (6, 'Model steps per question'),
        'run': (6, 'Stop after this many model steps'),
        'sweep': (20, 'Optimizer steps per run'),
        'train': (None, TRAINING_HELP['max_steps']),
    },
    # batching
    '--batch-size': {
        'bench bfcl': (8, 'Completions generated together (local) or sent at once (endpoint)'),
        'eval': (4, GENERATED_TOGETHER_HELP),
        'generate': (4, 'Requests per round (batched locally, concurrent on a server)'),
        'judge': (8, 'Questions judged per round'),
        'pairs mine': (4, GENERATED_TOGETHER_HELP),
        'recipe': (1, 'Rows per micro-batch (packed rows of --max-length tokens on a GPU)'),
        'rollout': (8, 'Conversations stepped together'),
        'sweep': (4, TRAINING_HELP['batch_size']),
        'train': (4, TRAINING_HELP['batch_size']),
    },
    # model selection
    '--model': {
        'annotate': (None, 'embedded (default), a HF folder or .gguf; with --base-url, the served model name'),
        'bench bfcl': (None, MODEL_HELP),
        'bench chat': (None, MODEL_HELP),
        'eval': (None, MODEL_HELP),
        'export-model': ('embedded', 'embedded | embedded-v2 | embedded-base | HF model folder | .gguf file'),
        'generate': (None, 'HF model folder or .gguf (default: embedded SmolLM2); with --base-url, the served model name'),
        'inspect-sample': (None, 'HF model folder or .gguf file (default: embedded SmolLM2-135M)'),
        'judge': (None, 'HF model folder or .gguf (default: embedded SmolLM2); with --base-url, the served model name'),
        'pairs mine': (None, MODEL_HELP),
        'recipe': (None, 'Teacher: the model name served at --base-url'),
        'rollout': (None, 'HF model folder or .gguf (default: embedded SmolLM2); with --base-url, the served model name'),
        'run': (None, MODEL_HELP),
        'serve': ('embedded', 'embedded | embedded-v2 | embedded-base | HF model folder | .gguf file'),
        'specialize': (None, 'Base model: the embedded SmolLM2 by default, or an HF model folder'),
        'sweep': (None, 'HF model folder or .gguf file (default: embedded SmolLM2-135M)'),
        'train': (None, 'HF model folder or .gguf file (default: embedded SmolLM2-135M)'),
    },
    '--adapter': {
        'bench bfcl': (None, ADAPTER_HELP),
        'bench chat': (None, ADAPTER_HELP),
        'eval': (None, ADAPTER_HELP),
        'export-model': (None, 'PEFT LoRA folder applied on top of --model'),
        'merge': (None, 'Folder of a LoRA run (tooltune train --out)'),
        'pairs mine': (None, ADAPTER_HELP),
        'run': (None, ADAPTER_HELP),
        'serve': (None, 'PEFT LoRA folder applied on top of --model'),
    },
    '--compare': {
        'bench bfcl': (None, "Two models 'A,B' side by side, e.g. embedded-base,embedded"),
        'bench chat': (None, "Two models 'A,B' side by side, e.g. embedded-base,embedded"),
        'eval': (None, "Two models 'A,B' (base,tuned) side by side in one report"),
    },
    '--base-url': {
        'annotate': (None, BASE_URL_HELP),
        'bench bfcl': (None, BASE_URL_HELP),
        'bench chat': (None, BASE_URL_HELP),
        'eval': (None, BASE_URL_HELP),
        'generate': (None, BASE_URL_HELP),
        'judge': (None, BASE_URL_HELP),
        'pairs mine': (None, BASE_URL_HELP),
        'recipe': (None, 'Teacher: an OpenAI-compatible server; its generate -> judge -> rollout rows replace the synthesis'),
        'rollout': (None, BASE_URL_HELP),
        'run': (None, BASE_URL_HELP),
    },
    '--api-key': {
        'annotate': (None, API_KEY_HELP),
        'bench bfcl': (None, API_KEY_HELP),
        'bench chat': (None, API_KEY_HELP),
        'eval': (None, API_KEY_HELP),
        'generate': (None, API_KEY_HELP),
        'judge': (None, API_KEY_HELP),
        'pairs mine': (None, API_KEY_HELP),
        'recipe': (None, 'Teacher: API key for --base-url (never recorded)'),
        'rollout': (None, API_KEY_HELP),
        'run': (None, API_KEY_HELP),
        'serve': (None, "Require 'Authorization: Bearer KEY'"),
    },
    '--backend': {
        'bench bfcl': ('auto', BACKEND_HELP),
        'bench chat': ('auto', BACKEND_HELP),
        'eval': ('auto', BACKEND_HELP),
        'pairs mine': ('auto', BACKEND_HELP),
        'run': ('auto', BACKEND_HELP),
    },
    '--weights': {
        'bench bfcl': ('fp32', WEIGHTS_HELP),
        'eval': ('fp32', WEIGHTS_HELP),
        'pairs mine': ('fp32', WEIGHTS_HELP),
        'run': ('fp32', WEIGHTS_HELP),
        'serve': ('fp32', WEIGHTS_HELP),
    },
    # training
    '--lr': {
        'recipe': ('1e-3', "Learning rate of the final training, or 'sweep' for the one the sweep stage picked"),
        'specialize': (0.001, 'Learning rate'),
        'train': (0.0001, TRAINING_HELP['lr']),
    },
    '--rank': {
        'recipe': (16, 'LoRA rank (alpha = 2 x rank)'),
        'train': (8, TRAINING_HELP['rank']),
    },
    '--grad-accum': {
        'recipe': (4, TRAINING_HELP['grad_accum']),
        'train': (1, TRAINING_HELP['grad_accum']),
    },
    '--max-length': {
        'inspect-sample': (1024, 'With --tree: the row length the grouping fills'),
        'recipe': (2048, 'Longest sample in tokens; longer ones are left out whole'),
        'sweep': (1024, 'Tokens per row'),
        'train': (1024, TRAINING_HELP['max_length']),
    },
    '--scheduler': {
        'recipe': ('constant', 'constant (stops on --minutes and grows run by run) | cosine | linear (need the whole --steps)'),
        'train': ('cosine', TRAINING_HELP['scheduler']),
    },
    '--save-steps': {
        'recipe': (10, 'Checkpoint every N training steps (the last two are kept)'),
        'train': (0, TRAINING_HELP['save_steps']),
    },
    '--init-adapter': {
        'recipe': (None, "Continue this LoRA adapter instead of a fresh one: a folder, 'v2' for the packaged v2 SFT adapter or 'shipped' for the packaged default"),
        'specialize': (None, "Adapter to start from (default: the shipped one; 'none' for a fresh LoRA)"),
        'train': (None, TRAINING_HELP['init_adapter']),
    },
    # prompt
    '--format': {
        'annotate': ('react', FORMAT_HELP),
        'bench bfcl': (None, 'json | react | native (default: json locally, native with --base-url)'),
        'bench chat': ('json', 'json | react | native'),
        'eval': (None, 'One prompt format: react | json | native [default: react]'),
        'export': ('openai', 'openai | sharegpt | react | agentfabric | alpaca | dpo (preference pairs from human edits)'),
        'import': ('auto', 'auto | openai | sharegpt | glaive | ms_agent | agentfabric | alpaca'),
        'inspect-sample': ('react', 'react | json | native (must match what the agent will use)'),
        'pairs mine': ('json', 'Prompt format(s) to run the model in, comma-separated: json | react | native'),
        'parse': ('react', FORMAT_HELP),
        'rollout': ('react', FORMAT_HELP),
        'run': ('react', FORMAT_HELP),
        'serve': ('json', 'json | react | native: the layout the model was tuned on'),
        'sweep': ('react', 'react | json | native (must match what the agent will use)'),
        'train': ('react', 'react | json | native (must match what the agent will use)'),
    },
    '--lang': {
        'bench bfcl': ('en', 'Prompt language of the format: en | zh'),
        'export-model': ('en', "Language of the json format's tool prompt: en | zh"),
        'generate': ('en', LANG_HELP),
        'inspect-sample': ('auto', "Prompt language: auto (each sample's own, as eval does) | en | zh"),
        'judge': (None, 'Only questions in this language'),
        'run': ('en', 'Prompt language: en | zh'),
        'serve': ('en', 'Prompt language of the format: en | zh'),
        'specialize': (None, 'Request languages, comma-separated: en,zh (default: the languages of the tool descriptions)'),
        'sweep': ('auto', "Prompt language: auto (each sample's own, as eval does) | en | zh"),
        'train': ('auto', "Prompt language: auto (each sample's own, as eval does) | en | zh"),
    },
}


def _commands(group=None, path=()):
    group = group or typer.main.get_command(app)
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*path, name))
        else:
            yield " ".join((*path, name)), cmd


def taking(flag: str) -> dict[str, tuple]:
    """{command: (default, help)} of every command with `flag`."""
    return {name: (p.default, p.help) for name, cmd in _commands() for p in cmd.params if flag in getattr(p, "opts", ())}


@pytest.mark.parametrize("flag", sorted(GROUPS))
def test_each_shared_option_reaches_its_commands_with_the_groups_help_and_their_default(flag):
    assert taking(flag) == GROUPS[flag]


def test_one_help_text_per_use():
    """Where commands use a shared option the same way, they show the same words: the commands with
    the usual help of each group (not a variant of their own) are the ones listed here."""
    def usual(flag, text):
        return sorted(c for c, (_, h) in taking(flag).items() if h == text)

    assert usual("--max-tokens", STEP_TOKENS_HELP) == ["annotate", "eval", "pairs mine", "rollout", "run"]
    assert usual("--batch-size", GENERATED_TOGETHER_HELP) == ["eval", "pairs mine"]
    assert usual("--out", REPORT_FOLDER_HELP) == ["bench bfcl", "eval"]
    assert usual("--backend", BACKEND_HELP) == ["bench bfcl", "bench chat", "eval", "pairs mine", "run"]
    assert usual("--adapter", ADAPTER_HELP) == ["bench bfcl", "bench chat", "eval", "pairs mine", "run"]


# A shared option written inline in a command module (`out: Annotated[str, typer.Option("--out", ...)]`)
# instead of through its group's factory or alias in cli_options.py.
SHARED_NAMES = ("out", "max_tokens", "max_steps", "batch_size", "model", "adapter", "compare", "base_url", "api_key", "backend", "weights",
                "lr", "rank", "grad_accum", "max_length", "scheduler", "save_steps", "init_adapter", "format", "lang")
INLINE = re.compile(rf"\b({'|'.join(SHARED_NAMES)}): Annotated\[[^=\n]*typer\.Option\(")


def test_shared_options_are_declared_through_their_group():
    src = Path(__file__).resolve().parents[1] / "src" / "tooltune"
    found = [f"{path.relative_to(src)}:{line}" for path in sorted(src.rglob("*.py")) if path.name != "cli_options.py"
             for line in path.read_text(encoding="utf-8").splitlines() if INLINE.search(line)]
    # `serve --api-key` is the key clients must send (its own env var), not the key of a server
    assert found == ['serve/commands.py:    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="TOOLTUNE_API_KEY", '
                     'help="Require \'Authorization: Bearer KEY\'")] = None,']


def test_a_group_fills_the_members_a_command_names_and_refuses_others():
    import inspect

    from tooltune.cli_options import MODEL_SELECTION, BackendOpt, ModelOpt

    @MODEL_SELECTION(backend="llamacpp")
    def command(question: str, *, model, backend, seed: int = 0):
        return model, backend

    params = inspect.signature(command).parameters
    assert [(p.name, p.annotation, p.default) for p in params.values()] == \
        [("question", str, inspect.Parameter.empty), ("model", ModelOpt, None), ("backend", BackendOpt, "llamacpp"), ("seed", int, 0)]
    with pytest.raises(TypeError, match="'modle' has no declaration"):
        MODEL_SELECTION(lambda *, modle: None)
