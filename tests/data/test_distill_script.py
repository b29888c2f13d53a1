"""scripts/distill_knowledge.py keeps only answers worth training on: no refusals, no echo of the
question, Chinese answers to Chinese questions, no repeats."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "distill_knowledge.py"


def _script():
    spec = importlib.util.spec_from_file_location("distill_knowledge", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_answers_are_kept_only_when_worth_training_on(monkeypatch):
    script = _script()
    good = script.good
    # the base model's Chinese answers are never kept; the checks below are for a teacher that is asked
    assert good("长城全长约两万一千公里，横跨中国北方多个省份。", "zh", "长城有多长？") == "zh: not kept (see KEPT_LANGS)"
    monkeypatch.setattr(script, "KEPT_LANGS", ("en", "zh"))
    assert good("The Mona Lisa was painted by Leonardo da Vinci.", "en", "Who painted the Mona Lisa?") is None
    assert good("长城全长约两万一千公里，横跨中国北方多个省份。", "zh", "长城有多长？") is None
    assert good("长城有多长？\n\n长城很长。", "zh", "长城有多长？") == "echoes the question"
    assert good('The phrase "长城有多长" is a common idiomatic expression in Japanese culture.', "zh", "长城有多长？") == "not Chinese"
    assert good("I'm sorry, I can't answer that.", "en", "What is photosynthesis?") == "refusal"
    assert good("It is blue. It is blue.", "en", "What colour is the sky?") == "repeats"


def test_shipped_answers_pass_the_checks_and_the_reading(monkeypatch):
    """knowledge.jsonl is what the script keeps: no answer rejected on reading is left in it, and
    the written Chinese answers pass the checks a teacher's would (Chinese, no echo, no repeats)."""
    from tooltune.data.synth.corpus_v3 import KNOWLEDGE_PATHS, knowledge_questions
    from tooltune.messages import read_jsonl

    script = _script()
    assert script.good("The largest planet is Neptune.", "en", "What is the largest planet in our solar system?") == \
        "read and rejected: 'Neptune, but it's actually Uranus' (Jupiter)"
    distilled, written = ([row for _, row in read_jsonl(p)] for p in KNOWLEDGE_PATHS)
    assert [r["q"] for r in distilled if r["q"] in script.REJECTED_ON_READING] == []
    assert all(script.good(r["a"], r["lang"], r["q"]) is None for r in distilled)
    monkeypatch.setattr(script, "KEPT_LANGS", ("en", "zh"))
    assert [r["q"] for r in written if script.good(r["a"], "zh", r["q"])] == []
    assert sorted(r["q"] for r in written) == sorted(q for lang, q in knowledge_questions(held_out=False) if lang == "zh")
