"""Training examples: each sample rendered once, with labels on every assistant span.

A multi-turn agent dialogue becomes ONE example: `input_ids` of the whole conversation and
`labels` equal to the ids on what the model wrote (thoughts, actions, action inputs, final
answers, end-of-turn token) and -100 elsewhere. Because the model is causal, the loss of that one
pass equals the token-weighted mean of the losses of the dialogue split into one sample per
assistant turn (proved in tests/train/test_proofs.py) without re-encoding shared prefixes.

The text and labels come from `ChatRenderer.tokenize(fmt.render(...))`, the very renderer the
agent prompts with, so the trained template cannot drift from the inference template.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tooltune.errors import TooltuneError, located
from tooltune.formats import PromptFormat, get_format, react_layout
from tooltune.formats.chat import ChatRenderer
from tooltune.lang import LANG_CHOICES, dialogue_lang
from tooltune.messages import Message, Sample

IGNORE = -100
DEMO_CORPUS = Path(__file__).resolve().parent / "data" / "demo_corpus.jsonl"

# ms-swift's `react` loss scale: keyword -> (weight of the keyword, weight of the text after it).
# The keywords are the ReAct layout's own (formats/react_layout.py); only the weights live here.
LOSS_SCALES: dict[str, dict[str, tuple[float, float]]] = {
    "react": {
        react_layout.ACTION: (2.0, 2.0),
        react_layout.ACTION_INPUT: (2.0, 2.0),
        react_layout.THOUGHT: (1.0, 1.0),
        react_layout.FINAL_ANSWER: (1.0, 1.0),
        react_layout.OBSERVATION: (2.0, 0.0),
    },
}


def loss_scale_table(name: str | None) -> dict[str, tuple[float, float]] | None:
    """The keyword weights of loss scale `name` (None: no scale), or a one-line error."""
    if not name:
        return None
    if name not in LOSS_SCALES:
        raise TooltuneError(f"unknown loss scale {name!r}: use one of {', '.join(LOSS_SCALES)} or none")
    return LOSS_SCALES[name]


@dataclass
class Example:
    """One tokenized sample. `weights` is None unless a loss scale is in use."""

    input_ids: list[int]
    labels: list[int]
    weights: list[float] | None = None
    source: int = 0  # index of the sample in the corpus, for inspect/debug
    prefix: int = 0  # leading tokens that are the system turn with its tools (tree rows share them)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def n_trained(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)

    def turn_spans(self) -> list[tuple[int, int]]:
        """[start, end) of every contiguous run of trained tokens: one per assistant step."""
        spans: list[tuple[int, int]] = []
        start = None
        for i, label in enumerate([*self.labels, IGNORE]):
            if label != IGNORE and start is None:
                start = i
            elif label == IGNORE and start is not None:
                spans.append((start, i))
                start = None
        return spans


@dataclass
class Corpus:
    """Tokenized samples. Over-long samples are never cut inside a trained span: by default they
    go to the eval split whole (`overlong`); with `overlong="drop-turns"` their trailing turns
    are dropped until they fit (`trimmed`), and only those where not even the first turn fits go
    to eval. `langs` counts the prompt language each sample was rendered in."""

    train: list[Example]
    eval: list[Example] = field(default_factory=list)
    overlong: int = 0
    trimmed: int = 0
    skipped: int = 0
    langs: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"train": len(self.train), "eval": len(self.eval), "overlong_to_eval": self.overlong,
                "trimmed": self.trimmed, "skipped": self.skipped, **{f"lang_{k}": v for k, v in sorted(self.langs.items())}}


def load_samples(path: str | Path) -> list[Sample]:
    """Canonical samples from a JSONL file or from the approved rows of a corpus.db store."""
    from tooltune.data.inputs import read_input

    return read_input(
        path, lambda store: [row.sample for row in store.samples(status="approved")], _sample_of_line,
        not_found="training data {path} not found: pass a .jsonl file of samples or a corpus.db",
        empty="{path} holds no samples (a corpus.db needs approved samples)")


def _sample_of_line(obj: Any, where: str) -> Sample:
    with located(where):
        return Sample.from_openai(obj)


def token_weights(renderer: ChatRenderer, rendered: Any, ids: list[int], scale: dict[str, tuple[float, float]]) -> list[float]:
    """Per-token loss weights from keyword positions in the trained text (ms-swift loss scale).

    Every trained character gets the weight of the keyword region it is in; a token takes the
    weight of its first character. Untrained tokens get 0."""
    pattern = re.compile("|".join(re.escape(k) for k in sorted(scale, key=len, reverse=True)))
    weights: list[float] = []
    for seg in renderer.segments(rendered):
        enc = renderer.tokenizer(seg.text, add_special_tokens=False, return_offsets_mapping=True)
        if not seg.train:
            weights += [0.0] * len(enc["input_ids"])
            continue
        char_w = [1.0] * len(seg.text)
        current = 1.0
        pos = 0
        for m in pattern.finditer(seg.text):
            char_w[pos:m.start()] = [current] * (m.start() - pos)
            kw_weight, current = scale[m.group(0)]
            char_w[m.start():m.end()] = [kw_weight] * (m.end() - m.start())
            pos = m.end()
        char_w[pos:] = [current] * (len(seg.text) - pos)
        weights += [char_w[start] if start < len(char_w) else 1.0 for start, _ in enc["offset_mapping"]]
    if len(weights) != len(ids):
        raise TooltuneError("internal: loss-scale tokenization disagrees with ChatRenderer.tokenize")
    return weights


def build_example(sample: Sample, fmt: PromptFormat, renderer: ChatRenderer, loss_scale: str | None = None, source: int = 0) -> Example:
    rendered = fmt.render(sample.messages, sample.tools)
    ids, labels = renderer.tokenize(rendered)
    scale = loss_scale_table(loss_scale)
    weights = token_weights(renderer, rendered, ids, scale) if scale else None
    return Example(ids, labels, weights, source, renderer.prefix_len(rendered, ids))


def build_step_example(prompt: list[Message], step: Message, tools: list[dict[str, Any]], fmt: PromptFormat, renderer: ChatRenderer) -> Example:
    """One assistant step after `prompt`, labelled on that step only (DPO scores it this way).

    The conversation prompt + [step] is rendered and tokenized exactly as `build_example` does
    (one pass, segments tokenized one by one); the labels of every trained segment that starts
    inside the text the agent would send as its prompt (`ChatRenderer.prompt_text`: earlier
    steps) are cleared, so only what the model writes for this step is scored."""
    prompt_text = renderer.prompt_text(fmt.render(prompt, tools))
    ids: list[int] = []
    labels: list[int] = []
    at = 0
    segments = renderer.segments(fmt.render([*prompt, step], tools))
    if not "".join(seg.text for seg in segments).startswith(prompt_text):
        raise TooltuneError("internal: the rendered step does not continue the prompt the agent sends; the format renders steps inconsistently")
    for seg in segments:
        piece = renderer.tokenizer(seg.text, add_special_tokens=False)["input_ids"]
        if seg.train and at < len(prompt_text) < at + len(seg.text):
            raise TooltuneError("internal: an assistant span straddles the prompt the agent sends; the format renders steps inconsistently")
        ids += piece
        labels += piece if seg.train and at >= len(prompt_text) else [IGNORE] * len(piece)
        at += len(seg.text)
    return Example(ids, labels)


OVERLONG = ("eval", "drop-turns")


def check_corpus_options(lang: str = "auto", overlong: str = "eval", eval_split: float = 0.0, loss_scale: str | None = None) -> None:
    """The one check of how samples become a corpus: `TrainConfig.validate` calls it before
    anything loads, `build_corpus` for callers that come without a config."""
    if lang not in LANG_CHOICES:
        raise TooltuneError(f"--lang {lang!r}: use one of {', '.join(LANG_CHOICES)}")
    if overlong not in OVERLONG:
        raise TooltuneError(f"--overlong {overlong!r}: use one of {', '.join(OVERLONG)}")
    if not 0.0 <= eval_split < 1.0:
        raise TooltuneError("--eval-split must be in [0, 1)")
    loss_scale_table(loss_scale)


class CorpusConfig(Protocol):
    """What `prepare_corpus` reads from a training config (`TrainConfig` has all of it)."""

    data: str | None
    format: str
    lang: str
    max_length: int
    eval_split: float
    loss_scale: str | None
    seed: int
    overlong: str


def prepare_corpus(cfg: CorpusConfig, tokenizer: Any, samples: Iterable[Sample] | None = None) -> Corpus:
    """The corpus a training config asks for: its samples (`cfg.data`, unless given) tokenized
    with `tokenizer`. The trainer calls this with only the tokenizer loaded, so bad data and
    samples that fit nowhere fail before any weight loads."""
    samples = samples if samples is not None else load_samples(cfg.data or "")
    return build_corpus(samples, tokenizer, cfg.format, cfg.lang, cfg.max_length, cfg.eval_split, cfg.loss_scale, cfg.seed, cfg.overlong)


def drop_trailing_turns(example: Example, max_length: int) -> Example | None:
    """The longest prefix that ends where a trained span (an assistant step) ends and fits
    `max_length`; None when not even the first step fits. Never cuts inside a trained span."""
    fitting = [end for _, end in example.turn_spans() if end <= max_length]
    if not fitting:
        return None
    end = fitting[-1]
    w = example.weights[:end] if example.weights is not None else None
    return Example(example.input_ids[:end], example.labels[:end], w, example.source, min(example.prefix, end))


def build_corpus(
    samples: Iterable[Sample], tokenizer: Any, fmt_name: str = "react", lang: str = "auto", max_length: int = 1024,
    eval_split: float = 0.0, loss_scale: str | None = None, seed: int = 0, overlong: str = "eval",
) -> Corpus:
    """Tokenize every sample in its own language (`lang="auto"`, see tooltune.lang) or in one
    forced language; route over-long ones per `overlong`; skip those with nothing to learn; and
    hold out `eval_split` of the rest (at least one when > 0) for the eval loss."""
    check_corpus_options(lang, overlong, eval_split, loss_scale)
    renderer = ChatRenderer(tokenizer)
    formats: dict[str, PromptFormat] = {}
    examples: list[Example] = []
    too_long: list[Example] = []
    langs: dict[str, int] = {}
    trimmed = skipped = 0
    for i, sample in enumerate(samples):
        sample_lang = dialogue_lang(sample.messages) if lang == "auto" else lang
        fmt = formats.setdefault(sample_lang, get_format(fmt_name, sample_lang))
        ex = build_example(sample, fmt, renderer, loss_scale, source=i)
        if ex.n_trained == 0:
            skipped += 1
            continue
        langs[sample_lang] = langs.get(sample_lang, 0) + 1
        if len(ex) > max_length:
            cut = drop_trailing_turns(ex, max_length) if overlong == "drop-turns" else None
            if cut is None:
                too_long.append(ex)
                continue
            ex, trimmed = cut, trimmed + 1
        examples.append(ex)
    if not examples:
        raise TooltuneError(f"no sample fits --max-length {max_length} with an assistant turn to learn "
                            f"({len(too_long)} too long, {skipped} without assistant turns): raise --max-length or check the data")
    train, held_out = split_eval(examples, eval_split, seed)
    held_out += too_long
    return Corpus(train, held_out, len(too_long), trimmed, skipped, langs)


def split_per_turn(example: Example) -> Iterator[Example]:
    """The per-turn split a multi-turn dataset would otherwise use: for each assistant step, the
    conversation up to the end of that step, with labels on that step only. (Used by the proof
    test and by the benchmark to count the tokens that splitting would process.)"""
    for start, end in example.turn_spans():
        labels = [IGNORE] * start + example.labels[start:end]
        weights = None
        if example.weights is not None:
            weights = [0.0] * start + example.weights[start:end]
        yield Example(example.input_ids[:end], labels, weights, example.source)


def split_eval(examples: list[Any], eval_split: float, seed: int) -> tuple[list[Any], list[Any]]:
    """(train, held out): a seeded random `eval_split` share held out (at least one when asked for
    and there are two or more), both in their original order. SFT examples and DPO pairs alike."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_eval = max(1, round(eval_split * len(examples))) if eval_split > 0 and len(examples) > 1 else 0
    held = set(order[:n_eval])
    return [e for i, e in enumerate(examples) if i not in held], [e for i, e in enumerate(examples) if i in held]
