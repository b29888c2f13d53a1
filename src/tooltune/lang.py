"""The package's one language detector: which prompt language ("en" or "zh") a text or a
dialogue is in. Training renders each sample in this language and evaluation prompts each item
in it, so both must use the same rule — this one.

The rule is deliberately simple: any Han character (CJK Unified Ideographs, Extension A, or the
compatibility block) in the question makes it Chinese; everything else is English, the language
of the other shipped templates.

`LANGS` is the one list of prompt languages: every prompt in `tooltune/prompts/` exists in each,
and every `--lang` option and language check reads it from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tooltune.errors import TooltuneError

LANGS = ("en", "zh")
LANG_CHOICES = ("auto", *LANGS)  # a `--lang` that may also follow each sample's own language
LANG_HELP = " | ".join(LANGS)  # for option help: "en | zh"
CJK_CHAR = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{CJK_CHAR}]")


def detect_lang(text: str) -> str:
    """"zh" when `text` holds a Han character, else "en"."""
    return "zh" if _CJK.search(text or "") else "en"


def lang_or_en(lang: str | None) -> str:
    """`lang` when prompts exist in it, else "en": for items and questions stored with a language
    tooltune has no prompts in (or none at all)."""
    return lang if lang in LANGS else "en"


def check_lang(lang: str, option: str = "--lang", choices: tuple[str, ...] = LANGS) -> str:
    """`lang` itself, or a one-line error naming the option and the languages it takes."""
    if lang not in choices:
        raise TooltuneError(f"{option} {lang!r}: use one of {', '.join(choices)}")
    return lang


def dialogue_lang(messages: Iterable[Any]) -> str:
    """The language of a dialogue is that of its first user message (the question); messages
    are tooltune `Message`s (anything with `.role` and `.text`)."""
    first_user = next((m.text for m in messages if m.role == "user"), "")
    return detect_lang(first_user)
