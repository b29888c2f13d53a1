"""The recipe's training corpus: corpus/train.jsonl rendered into training examples, each row in
a format drawn from the mix and in its own language, with the human pass's decisions applied."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any, Callable

from tooltune.lang import LANGS
from tooltune.messages import Sample, read_jsonl
from tooltune.recipe.state import RecipeConfig


def format_mix(spec: str) -> list[tuple[str, float]]:
    out = []
    for part in spec.split(","):
        name, _, weight = part.strip().partition(":")
        out.append((name, float(weight or 1)))
    return out


def build_mixed_corpus(rows: list[dict[str, Any]], tokenizer: Any, cfg: RecipeConfig, eval_share: float = 0.03,
                       reviewed: dict[int, dict[str, Any] | None] | None = None) -> Any:
    """Render each sample in a format drawn from the mix and in the sample's own language;
    samples longer than max_length are dropped whole, never truncated.

    `reviewed` (the human pass): {row index: None to leave the row out, or its edited row}. The
    random draws (format, eval split) are made for the original row, exactly as without a review,
    so every row nobody touched keeps its format, split and position."""
    from tooltune.formats import get_format
    from tooltune.lang import dialogue_lang
    from tooltune.formats.chat import ChatRenderer
    from tooltune.train.dataset import Corpus, build_example

    renderer = ChatRenderer(tokenizer)
    mix = format_mix(cfg.formats)
    fmts = {(f, lang): get_format(f, lang) for f, _ in mix for lang in LANGS}
    rng = random.Random(cfg.seed)
    reviewed = reviewed or {}
    train, held, overlong = [], [], 0
    for i, row in enumerate(rows):
        sample = Sample.from_openai(row)
        fmt_name = rng.choices([f for f, _ in mix], [w for _, w in mix])[0]
        lang = row.get("lang") or dialogue_lang(sample.messages)
        ex = build_example(sample, fmts[(fmt_name, lang)], renderer, source=i)
        fits = len(ex) <= cfg.max_length
        to_eval = fits and rng.random() < eval_share  # drawn only for rows that fit, as always
        if i in reviewed:
            if (edited := reviewed[i]) is None:
                continue
            sample = Sample.from_openai(edited)
            ex = build_example(sample, fmts[(fmt_name, edited.get("lang") or dialogue_lang(sample.messages))], renderer, source=i)
            fits = len(ex) <= cfg.max_length
        if not fits:
            overlong += 1
            continue
        (held if to_eval else train).append(ex)
    # Over-long samples are dropped whole (nothing is cut); `overlong` counts them.
    return Corpus(train, held[:32], overlong=overlong)


_RENDERED: dict[tuple, Any] = {}  # the sweep and train stages of one process render the corpus once


def load_corpus(corpus_dir: Path, cfg: RecipeConfig, tokenizer: Any, log: Callable[[str], None] | None = None) -> Any:
    """train.jsonl as training examples, with the human pass's rejections and edits from
    corpus.db applied (none when nobody touched it: then exactly the corpus the stage built).
    Rendering 30k rows takes minutes, so the last result is kept, keyed by everything it depends
    on: the file, the decisions themselves, and the settings that shape an example."""
    from tooltune.recipe.review import REVIEW_DB, apply_decisions, human_decisions

    train = corpus_dir / "train.jsonl"
    rows = [obj for _, obj in read_jsonl(train)]
    reviewed = apply_decisions(rows, human_decisions(corpus_dir / REVIEW_DB))
    decisions = hashlib.sha256(json.dumps(sorted(reviewed.items()), ensure_ascii=False).encode()).hexdigest()
    stamp = train.stat()
    key = (str(train.resolve()), stamp.st_mtime_ns, stamp.st_size, decisions, cfg.max_length, cfg.formats, cfg.seed, tokenizer.name_or_path)
    if reviewed and log:
        dropped = sum(1 for r in reviewed.values() if r is None)
        log(f"[corpus] human pass: {dropped} rows left out, {len(reviewed) - dropped} edited")
    if key not in _RENDERED:
        _RENDERED.clear()
        _RENDERED[key] = build_mixed_corpus(rows, tokenizer, cfg, reviewed=reviewed)
    return _RENDERED[key]
