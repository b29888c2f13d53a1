"""Words copied from the conversation into a tool call, spelled as the conversation spells them.

A small model copies a value such as "Liverpool" badly. In the question the word is one token
(" Liverpool"); inside a JSON string it has no leading space and becomes three ("L" "iver"
"pool"), and the 135M model finishes the word it started with a guess: "Liverly F.C.",
"Yellowland National Park", "Buddha" for Buddhism. (A word written as one token, "Beer" for
Beef, is out of reach: it is whole before anything can be checked.)

`CopyBias` watches a call being written. Inside a string value, when the word being written
starts like a word of the conversation (at least two characters) and the model's choice would
go on with other letters, it adds `bonus` to the logits of the tokens that continue that word as
the conversation has it (which of them, "pool" or "p", stays the model's choice), and then sees
the word to its end. It never starts a word and never reaches past the word's end, so *what*
to copy, and whether to copy at all, stays the model's choice; only the spelling is helped. A
model that means another word ("Portuguese" after "Portugal") keeps it when it is surer of it
than `bonus`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tooltune.formats.scan import DOUBLE_QUOTED, scan
from tooltune.messages import Message

WORDS = re.compile(r"\w+")
DEFAULT_BONUS = 15.0


class TokenTable:
    """Each token's text, and the word-piece tokens by text (built once per tokenizer)."""

    def __init__(self, tokenizer: Any) -> None:
        size = len(tokenizer)
        self.text: list[str] = tokenizer.batch_decode([[i] for i in range(size)], skip_special_tokens=False)
        self.special = set(tokenizer.all_special_ids)
        self.pieces: dict[str, list[int]] = {}
        for i, text in enumerate(self.text):
            if text and "\ufffd" not in text and WORDS.fullmatch(text):
                self.pieces.setdefault(text, []).append(i)


def copy_source(messages: Iterable[Message]) -> str:
    """The text a call's values are copied from: what the user wrote and what tools returned."""
    return "\n".join(m.text for m in messages if m.role in ("user", "tool"))


def open_value(text: str) -> tuple[str, int] | None:
    """The string value being written at the end of `text` (a JSON object from its first `{`)
    and its nesting depth; None when the end of `text` is not inside a value string. A string
    that opens right after `{`, or after `,` inside an object, is a key."""
    found = scan(text, brackets=True, strings=DOUBLE_QUOTED, openers='"')
    if found.how != "open_string":
        return None
    before = text[: found.opened].rstrip()
    if before.endswith("{") or (before.endswith(",") and found.brackets.endswith("{")):
        return None
    return text[found.opened + 1 :], found.depth


class CopyBias:
    """One completion's copy state. `openers`: the texts that open a call; `min_depth`: the
    nesting a value needs to count (2 for `{"name": …, "arguments": {…}}`, so the tool name is
    left alone; 1 where the arguments object is the whole JSON)."""

    def __init__(self, table: TokenTable, source: str, openers: tuple[str, ...], min_depth: int, bonus: float = DEFAULT_BONUS) -> None:
        self.table = table
        self.words = sorted({w for w in WORDS.findall(source) if len(w) > 2})
        self.openers = openers
        self.min_depth = min_depth
        self.bonus = bonus
        self.written = ""
        self.nudged = 0  # steps where the bias was applied (for tests and benchmarks)
        self.helped = -1  # where the last word the bias helped with starts in `written`

    def feed(self, token: int) -> None:
        self.written += self.table.text[token]

    def endings(self) -> set[str]:
        """How the word being written may go on, as the conversation spells it (empty: not in a
        value, the word too short, or no word of the conversation starts like it)."""
        return self._word()[1]

    def _word(self) -> tuple[int, set[str], bool]:
        """Where the word being written starts, its endings, and whether it is a whole word of
        the conversation already."""
        at = max(self.written.rfind(o) for o in self.openers)
        body = self.written.find("{", at) if at >= 0 else -1
        value = open_value(self.written[body:]) if body >= 0 else None
        if value is None or value[1] < self.min_depth:
            return -1, set(), False
        word = re.search(r"\w+$", value[0])
        if word is None or len(word.group()) < 2:
            return -1, set(), False
        stem = word.group()
        endings = {w[len(stem):] for w in self.words if w.startswith(stem) and len(w) > len(stem)}
        return len(self.written) - len(stem), endings, stem in self.words

    def apply(self, logits: Any) -> Any:
        """`logits` with the copy bonus added (in place) where the model's own choice would
        misspell a word it is copying; unchanged otherwise. A word the bonus has helped with is
        finished too: the model may not stop it half-way ("Buddhis")."""
        if not self.words or not self.bonus:
            return logits
        start, endings, whole = self._word()
        if not endings:
            return logits
        top = int(logits.argmax())
        choice = self.table.text[top]
        leaves = top not in self.table.special and not choice[:1].isalnum()  # an end token cannot end a string
        if (leaves and (start != self.helped or whole)) or any(_fits(choice, e) for e in endings):
            return logits
        ids = sorted({i for e in endings for k in range(1, len(e) + 1) for i in self.table.pieces.get(e[:k], ())})
        if ids:
            self.nudged += 1
            self.helped = start
            logits[ids] += self.bonus
        return logits


def _fits(token: str, ending: str) -> bool:
    """Whether `token` spells `ending` (or its start), or all of it and then leaves the word."""
    if ending.startswith(token):
        return True
    return token.startswith(ending) and not token[len(ending)].isalnum()
