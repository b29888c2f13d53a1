"""Every prompt text tooltune writes lives in this folder, one file per prompt and language
(`NAME_LANG.txt`, `$name` placeholders), and is read by the one loader here.

Keeping the text out of the code means a translation or a wording change is a text-file edit
that touches no module, and a reader finds every prompt in one listing:

- react, tool_desc    the ReAct format's system prompt and its per-tool line (formats/react.py)
- json                the JSON-call format's system prompt (formats/jsoncall.py)
- agentfabric(_tool)  ModelScope AgentFabric's Chinese tool prompt, for exports (data/convert.py)
- generate, negatives question writing for the corpus, generate_style its default $style
                      (data/generate.py)
- judge               the question judge (data/judge.py)
- plan, plan_*        the planner: plan, sub-task, retry, re-plan, reflect (agent/planning.py)
- repeat_note         the answer to a repeated identical call (agent/repeats.py)
- format_error        what the model is told after a completion that did not parse
                      (formats/base.py), in the agent's language
- answer_judge        the end-to-end answer judge (eval/answers.py); English only: only the judge
                      model reads it, and it compares answers in either language
- tool_intro_*        the line before each tool-description style: qwen, openai, autogpt
                      (data/augment.py)
- synth_system        the system prompts synthesis draws from, one per line (data/synth/dialogues.py)

A user may replace a corpus prompt with their own file or text (`override`); the shipped ones
are read once and cached, since formats fill them on every render.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from string import Template
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.lang import LANGS

PROMPT_DIR = Path(__file__).resolve().parent


@cache
def _shipped(name: str, lang: str) -> Template:
    if lang not in LANGS:
        raise TooltuneError(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")
    path = PROMPT_DIR / f"{name}_{lang}.txt"
    if not path.is_file():
        raise TooltuneError(f"no prompt {name!r} in {lang}: {path} is missing")
    return Template(path.read_text(encoding="utf-8").strip())


def load_prompt(name: str, lang: str, override: str | None = None) -> Template:
    """The prompt `name` in `lang`, or the user's `override`: a path to a text file or the
    template text itself (text longer than a path could be is never taken for one)."""
    if not override:
        return _shipped(name, lang)
    if lang not in LANGS:
        raise TooltuneError(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")
    path = Path(override)
    text = path.read_text(encoding="utf-8") if len(override) < 400 and path.is_file() else override
    return Template(text.strip())


def fill_prompt(template: Template, **values: Any) -> str:
    """`template` with every `$name` replaced; a placeholder that is not in `values` (a user's
    override with a typo) is a one-line error naming the ones that are."""
    try:
        return template.substitute(**{k: str(v) for k, v in values.items()})
    except (KeyError, ValueError) as exc:
        allowed = ", ".join(f"${k}" for k in values)
        raise TooltuneError(f"prompt template has an unknown or broken placeholder ({exc}): use only {allowed}") from None


def fill(name: str, lang: str, /, **values: Any) -> str:
    """The shipped prompt `name` in `lang`, filled."""
    return fill_prompt(_shipped(name, lang), **values)


def prompt_lines(name: str, lang: str) -> list[str]:
    """A shipped prompt that is a list of texts to draw from, one per line (synth_system)."""
    return [line.strip() for line in _shipped(name, lang).template.splitlines() if line.strip()]
