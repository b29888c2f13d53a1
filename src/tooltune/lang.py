"""The package's one language detector: which prompt language ("en" or "zh") a text or a
dialogue is in. Training renders each sample in this language and evaluation prompts each item
in it, so both must use the same rule — this one.

The rule is deliberately simple: any Han character (CJK Unified Ideographs, Extension A, or the
compatibility block) in the question makes it Chinese; everything else is English, the language
of the other shipped templates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

CJK_CHAR = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK = re.compile(f"[{CJK_CHAR}]")


def detect_lang(text: str) -> str:
    """"zh" when `text` holds a Han character, else "en"."""
    return "zh" if _CJK.search(text or "") else "en"


def dialogue_lang(messages: Iterable[Any]) -> str:
    """The language of a dialogue is that of its first user message (the question); messages
    are tooltune `Message`s (anything with `.role` and `.text`)."""
    first_user = next((m.text for m in messages if m.role == "user"), "")
    return detect_lang(first_user)
