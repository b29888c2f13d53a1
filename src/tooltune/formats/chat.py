"""Render formatted turns through a model's chat template — for prompting *and* for training.

`ChatRenderer.segments()` finds every assistant span inside the fully rendered conversation by
rendering prefixes: the text between "conversation up to this turn + generation prompt" and
"conversation including this turn" is what the model wrote. That works with any HF chat template
without per-model slot tables, and the agent's prompt is the very same prefix text, so training
and inference cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from tooltune.errors import TooltuneError
from tooltune.formats.base import Rendered, Segment, Turn
from tooltune.formats.parsing import END_MARKERS

# Used only when a tokenizer ships no chat template at all (e.g. a bare test tokenizer).
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class ChatRenderer:
    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        if not getattr(tokenizer, "chat_template", None):
            tokenizer.chat_template = CHATML
        self.supports_tools = "tools" in tokenizer.chat_template
        eos = getattr(tokenizer, "eos_token", None)
        self.end_markers = tuple(dict.fromkeys([m for m in (eos, *END_MARKERS) if m]))

    def _apply(self, turns: list[Turn], tools: list[dict[str, Any]] | None, add_generation_prompt: bool) -> str:
        if not turns:
            return ""
        if tools and not self.supports_tools:
            raise TooltuneError("this model's chat template does not accept tools: use --format react or --format json")
        kwargs = {"tools": tools} if tools else {}
        return self.tokenizer.apply_chat_template(
            [t.to_chat() for t in turns], tokenize=False, add_generation_prompt=add_generation_prompt, **kwargs
        )

    def prompt_text(self, rendered: Rendered) -> str:
        """The text the model continues: a new assistant turn, or the open last one."""
        if rendered.open_last:
            return self._apply(rendered.turns[:-1], rendered.tools, True) + rendered.turns[-1].text
        return self._apply(rendered.turns, rendered.tools, True)

    def segments(self, rendered: Rendered) -> list[Segment]:
        """The whole conversation as text segments; `train=True` exactly on what the model writes
        (assistant spans, minus untrained observations inside them, plus the end-of-turn marker)."""
        turns, tools = rendered.turns, rendered.tools
        out: list[Segment] = []
        done = ""
        for i, turn in enumerate(turns):
            if turn.role != "assistant":
                continue
            before = self._apply(turns[:i], tools, True)
            after = self._apply(turns[: i + 1], tools, False)
            if not (before.startswith(done) and after.startswith(before)):
                raise TooltuneError(
                    "the chat template does not render conversations prefix-stably (it rewrites earlier turns), "
                    "so assistant spans cannot be located: use a model with a plain template or --format react/json"
                )
            out.append(Segment(before[len(done):]))
            body = after[len(before):]
            content = turn.text
            verbatim = bool(content) and body.startswith(content)
            if verbatim:
                out.extend(s for s in turn.segments if s.text)
                body = body[len(content):]
            # else the template rewrote the content (native tool calls): the whole span is the model's
            cut = self._end_of_turn(body) or (0 if verbatim else len(body))
            out += [Segment(body[:cut], True), Segment(body[cut:])]
            done = after
        out.append(Segment(self._apply(turns, tools, False)[len(done):]))
        return _merge(out)

    def _end_of_turn(self, text: str) -> int:
        """Index just past the first end-of-turn marker in `text` (0 if there is none)."""
        hits = [text.find(m) + len(m) for m in self.end_markers if m in text]
        return min(hits) if hits else 0

    def system_ids(self, rendered: Rendered) -> list[int]:
        """The tokens of the first turn, the system prompt with the tool list, rendered alone ([]
        without a system turn): what every conversation over the same tools starts with."""
        turns = rendered.turns
        if not turns or turns[0].role != "system":
            return []
        text = self._apply(turns[:1], rendered.tools, False)
        cache = self.__dict__.setdefault("_system_ids", {})
        if text not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[text] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return cache[text]

    def prefix_len(self, rendered: Rendered, ids: list[int]) -> int:
        """How many of `ids` (this conversation's tokens) are its system turn (`system_ids`): the
        part training's tree rows share. 0 when there is none or its tokens are not a prefix."""
        head = self.system_ids(rendered) if len(rendered.turns) > 1 else []
        return len(head) if head and ids[: len(head)] == head else 0

    def tokenize(self, rendered: Rendered) -> tuple[list[int], list[int]]:
        """input_ids and labels (-100 where not trained). Each run of same-flag text is tokenized on
        its own, as at inference the prompt is tokenized and the completion generated after it."""
        ids: list[int] = []
        labels: list[int] = []
        for seg in self.segments(rendered):
            piece = self.tokenizer(seg.text, add_special_tokens=False)["input_ids"]
            ids += piece
            labels += piece if seg.train else [-100] * len(piece)
        return ids, labels


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for seg in segments:
        if not seg.text:
            continue
        if merged and merged[-1].train == seg.train:
            merged[-1] = Segment(merged[-1].text + seg.text, seg.train)
        else:
            merged.append(seg)
    return merged
