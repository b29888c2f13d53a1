"""The token mask behind schema-constrained tool calls, for the local backends.

A `ToolConstraint` (tooltune.formats.grammar) becomes an llguidance matcher. Why llguidance:
it runs on the CPU by design (a Rust Earley parser and lexer; no GPU kernel, no triton), a mask
over SmolLM2's 49k tokens takes well under a millisecond, it takes lazy tool-call grammars with
inline JSON Schemas (`%json`) and and/not operators in one Lark file, its JSON Schema support is
broad (enums, const, required, nested objects and arrays, anyOf, $ref, string/number bounds), and
it is what llama.cpp, vLLM and SGLang use as a grammar backend. xgrammar 0.2.8 works on the CPU
too, but its Linux wheel depends on triton and apache-tvm-ffi; outlines-core 0.2.14 indexes one
regex per schema up front, with no lazy trigger or context-free rules.

`Guide.pick` first takes the token the model would take anyway (argmax, or a sample) and asks
the matcher only whether that one token is allowed; the full mask is computed when it is not.
Most tokens — all free text, and a call the model gets right — cost one cheap check, and greedy
output is unchanged wherever the grammar does not forbid it. For sampling this is exact too:
accepting an allowed sample, else resampling from the masked distribution, draws each allowed
token with probability p / (sum of allowed p).

A constraint whose grammar llguidance cannot build (an exotic tool schema) is not enforced: the
request decodes free and a warning names the error, so a tool with a strange schema never stops
an agent.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.formats.grammar import SYNTAXES, ToolConstraint
from tooltune.llm.copying import DEFAULT_BONUS, CopyBias, TokenTable


def _llguidance() -> Any:
    try:
        import llguidance
        import llguidance.hf  # noqa: F401
    except ImportError:
        raise TooltuneError("constrained tool calls need llguidance: pip install 'llguidance>=1.9' (or pass --no-constrain)") from None
    return llguidance


class Guide:
    """One completion's grammar state: which tokens may come next."""

    def __init__(self, matcher: Any, vocab: int, copy: CopyBias | None = None) -> None:
        self.matcher = matcher
        self.vocab = vocab
        self.copy = copy  # spelling help for values copied from the conversation (llm.copying)
        self.masked = 0  # tokens whose choice the mask changed (for tests and benchmarks)

    @property
    def live(self) -> bool:
        return not (self.matcher.is_error() or self.matcher.is_stopped())

    def allows(self, token: int) -> bool:
        return self.matcher.validate_tokens([token]) == 1

    def mask(self, logits: Any) -> Any:
        """`logits` (1-D) with every token the grammar forbids set to -inf, in place."""
        import numpy as np
        import torch

        bits = np.unpackbits(np.frombuffer(self.matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
        allowed = torch.from_numpy(bits[: min(self.vocab, logits.shape[-1])].astype(bool)).to(logits.device)
        logits[: allowed.shape[0]].masked_fill_(~allowed, float("-inf"))
        logits[allowed.shape[0]:] = float("-inf")
        return logits

    def pick(self, logits: Any, temperature: float = 0.0) -> int:
        """The next token: the model's own choice when the grammar allows it, else its best
        (or a sample) among the allowed tokens."""
        self.bias(logits)
        token = _choose(logits, temperature)
        if not self.live or self.allows(token):
            return token
        self.masked += 1
        return _choose(self.mask(logits.clone()), temperature)

    def bias(self, logits: Any) -> Any:
        """`logits` with the copy bonus added, in place, where it applies."""
        return self.copy.apply(logits) if self.copy is not None else logits

    def accept(self, token: int) -> None:
        if self.copy is not None:
            self.copy.feed(token)
        if self.live:
            self.matcher.consume_token(token)


def _choose(logits: Any, temperature: float) -> int:
    import torch

    if temperature > 0:
        return int(torch.multinomial(torch.softmax(logits.float() / temperature, dim=-1), 1))
    return int(logits.argmax())


class GuideFactory:
    """Builds `Guide`s for one tokenizer: the llguidance tokenizer is made once (~0.4 s) and
    each grammar compiled once, then copied per request."""

    def __init__(self, tokenizer: Any, eos_ids: set[int], copy_bonus: float = DEFAULT_BONUS) -> None:
        self.tokenizer = tokenizer
        self.eos_ids = sorted(eos_ids)
        self.copy_bonus = copy_bonus
        self._lltok: Any = None
        self._table: TokenTable | None = None

    @property
    def lltok(self) -> Any:
        if self._lltok is None:
            llg = _llguidance()
            self._lltok = llg.hf.from_tokenizer(self.tokenizer, eos_token=self.eos_ids or None)
        return self._lltok

    def copy_bias(self, constraint: ToolConstraint, source: str) -> CopyBias | None:
        if not source or not self.copy_bonus:
            return None
        if self._table is None:
            self._table = TokenTable(self.tokenizer)
        syntax = SYNTAXES[constraint.syntax]
        bias = CopyBias(self._table, source, syntax.openers, 2 if syntax.json_call else 1, self.copy_bonus)
        bias.written = constraint.prefix
        return bias

    def guide(self, constraint: ToolConstraint | None, source: str = "") -> Guide | None:
        """A fresh guide for `constraint` (its prefix already read), or None: no constraint, or
        a grammar that could not be built (warned). `source`: the conversation text values
        are copied from (`llm.copying`)."""
        if constraint is None:
            return None
        template = _compiled(self, constraint.lark())
        if template is None:
            return None
        matcher = template.deep_copy()
        if constraint.prefix and not matcher.consume_tokens(self.lltok.tokenize_str(constraint.prefix)):
            warnings.warn(f"tool-call grammar: the prefilled text {constraint.prefix!r} does not fit it ({matcher.get_error()}); decoding free", stacklevel=2)
            return None
        return Guide(matcher, self.lltok.vocab_size, self.copy_bias(constraint, source))


class Guided:
    """`guide(request)` and the end tokens for a local backend that decodes with
    `tooltune.llm.decode` (transformers, onnxruntime-genai): its `model.generation_config` and
    `tokenizer` say which tokens end a completion, as `generate` sees them."""

    _guides: GuideFactory | None = None  # made on the first constrained request
    model: Any
    tokenizer: Any

    @property
    def _eos_ids(self) -> set[int]:
        """The generation config's end tokens, plus the tokenizer's."""
        configured = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids = set(configured if isinstance(configured, list) else [configured] if configured is not None else [])
        return ids | ({self.tokenizer.eos_token_id} if self.tokenizer.eos_token_id is not None else set())

    def guide(self, request: Any) -> Guide | None:
        """The grammar guide for a constrained request, else None."""
        if request.constraint is None:
            return None
        if self._guides is None:
            self._guides = GuideFactory(self.tokenizer, self._eos_ids)
        from tooltune.llm.copying import copy_source

        return self._guides.guide(request.constraint, copy_source(request.messages))


@lru_cache(maxsize=64)
def _compiled(factory: GuideFactory, grammar: str) -> Any:
    llg = _llguidance()
    matcher = llg.LLMatcher(factory.lltok, grammar, log_level=0)
    if matcher.is_error():
        warnings.warn(f"tool-call grammar not enforced: {matcher.get_error()[:300]}", stacklevel=3)
        return None
    return matcher


class BatchGuides:
    """A transformers logits processor applying one guide per row of a batched `generate`
    (rows without a constraint, or finished ones, are left alone). Each call first feeds every
    row the token it chose at the previous step."""

    def __init__(self, guides: list[Guide | None], prompt_width: int, greedy: bool) -> None:
        self.guides = guides
        self.prompt_width = prompt_width
        self.greedy = greedy

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        fed = input_ids.shape[1] > self.prompt_width
        for row, guide in enumerate(self.guides):
            if guide is None:
                continue
            if fed:
                guide.accept(int(input_ids[row, -1]))
            if not guide.live:
                continue
            guide.bias(scores[row])
            if self.greedy and guide.allows(int(scores[row].argmax())):
                continue
            guide.masked += 1
            guide.mask(scores[row])
        return scores
