"""The model's context length, checked before any prefill.

A prompt longer than the model's context cannot be answered: prefilling it anyway costs minutes
of CPU and gigabytes of memory (a 2 MB message is ~400k tokens) before producing garbage. The
local backends count the prompt here first and raise `ContextLengthError` (one line), which the
CLI prints, the evaluation records as an unscored item and the server answers with a 400.

Counting must not be the slow part either, so a text is refused before it is tokenised when it is
certainly too long: no token covers more bytes than the vocabulary's longest token, which gives a
lower bound on the token count from the byte length alone (exact, O(1)); then only a head of the
text is tokenised when that head alone already holds more than the context.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tooltune.errors import BackendError
from tooltune.llm.base import GenerationRequest

HEAD_CHARS_PER_TOKEN = 8  # tokenise at most this many characters per context token before the whole text
HEAD_CUT_SLACK = 64  # tokens a cut in the middle of a word or a whitespace run may add to the head's count


class ContextLengthError(BackendError):
    """The prompt (plus, where asked, the completion budget) does not fit the model's context."""

    def __init__(self, prompt_tokens: int, context: int, at_least: bool = False) -> None:
        self.prompt_tokens, self.context, self.at_least = prompt_tokens, context, at_least
        size = f"at least {prompt_tokens}" if at_least else f"{prompt_tokens}"
        super().__init__(f"prompt of {size} tokens exceeds the model's context of {context}: shorten the "
                         "conversation, tool results or tool list (the agent can fit it: --context-window)")


def model_context(llm: Any) -> int | None:
    """Tokens the backend's model can attend to (llama.cpp: its n_ctx; transformers: the
    config's max_position_embeddings), or None when the backend does not say (servers, tests)."""
    llama = getattr(llm, "llama", None)
    if llama is not None:
        return int(llama.n_ctx())
    config = getattr(getattr(llm, "model", None), "config", None)
    n = getattr(config, "max_position_embeddings", None)
    return int(n) if isinstance(n, int) and n > 0 else None


def longest_token_bytes(tokenizer: Any) -> int:
    """UTF-8 bytes of the longest vocabulary entry (added tokens included). Byte-level BPE writes
    each text byte as one character of one or two UTF-8 bytes, SentencePiece writes a space as
    '▁' (3 bytes): either way a token never covers more text bytes than this."""
    known = getattr(tokenizer, "_tooltune_longest_token_bytes", None)
    if known is None:
        known = max((len(t.encode("utf-8")) for t in tokenizer.get_vocab()), default=1) or 1
        tokenizer._tooltune_longest_token_bytes = known  # computed once per tokenizer (~50 ms)
    return known


def prompt_token_ids(tokenizer: Any, text: str, context: int | None) -> list[int]:
    """The token ids of `text`, or ContextLengthError when they would fill `context` (no room
    left for one generated token) — refused before full tokenisation when certainly too long."""
    def encode(s: str) -> list[int]:
        return tokenizer(s, add_special_tokens=False)["input_ids"]

    if context is None:
        return encode(text)
    floor = len(text.encode("utf-8")) // longest_token_bytes(tokenizer)
    if floor >= context:
        raise ContextLengthError(floor, context, at_least=True)
    head = HEAD_CHARS_PER_TOKEN * context
    if len(text) > head:
        floor = len(encode(text[:head])) - HEAD_CUT_SLACK
        if floor >= context:
            raise ContextLengthError(floor, context, at_least=True)
    ids = encode(text)
    if len(ids) >= context:
        raise ContextLengthError(len(ids), context)
    return ids


def fit_context(request: GenerationRequest, prompt_tokens: int, context: int | None) -> GenerationRequest:
    """`request` with max_tokens cut to what the context leaves after the prompt (the model
    cannot attend past it); the completion then ends with finish_reason "length"."""
    if context is None or prompt_tokens + request.max_tokens <= context:
        return request
    return dataclasses.replace(request, max_tokens=max(1, context - prompt_tokens))


class RenderedPrompt:
    """`prompt_text` and `prompt_ids` of a local backend: tooltune's ChatRenderer (`self.renderer`)
    writes the prompt, the backend's own tokenizer (`self.tokenizer`) counts it against the model's
    context. One copy for the transformers, llama.cpp and onnxruntime-genai backends."""

    renderer: Any
    tokenizer: Any

    def prompt_text(self, request: GenerationRequest) -> str:
        return self.renderer.prompt_text(request.rendered)

    def prompt_ids(self, request: GenerationRequest) -> list[int]:
        """Raises ContextLengthError, before any prefill, for a prompt the model cannot hold."""
        return prompt_token_ids(self.tokenizer, self.prompt_text(request), model_context(self))
