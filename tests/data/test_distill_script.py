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
    assert good("I'm sorry, I can't answer that.", "en", "Why is the sea salty?") == "refusal"
    assert good("It is blue. It is blue.", "en", "What colour is the sky?") == "repeats"
