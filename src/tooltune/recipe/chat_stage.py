"""The recipe's general-chat check (eval/chat_check.py), base vs tuned, in the eval stage: held-out
knowledge and small-talk questions with held-out bank tools offered. Results are kept per adapter
step beside the other eval results; the base model's never change, so they are computed once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tooltune.messages import write_text_atomic


def chat_stage(models: list[Any], held_tools: list[Any], eval_dir: Path, step: str, log: Callable[[str], None]) -> dict[str, Any]:
    from tooltune.data.synth.corpus_v3 import knowledge_check_items
    from tooltune.eval.chat_check import chat_check

    items = knowledge_check_items()
    pool = [t.spec("en") for t in held_tools]
    summary = {}
    for spec in models:
        path = (eval_dir / "base" if spec.label == "base" else eval_dir / step) / "chat.json"
        if path.exists():
            res = json.loads(path.read_text(encoding="utf-8"))
        else:
            res = chat_check(spec.load(), items, pool, "json")
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, json.dumps(res, indent=1, ensure_ascii=False))
        summary[spec.label] = {k: res[k] for k in ("items", "answered", "refused", "called", "invalid")}
        log(f"[eval] chat check {spec.label}: {res['answered']}/{res['items']} answered, {res['refused']} refused, {res['called']} called a tool")
    return summary
