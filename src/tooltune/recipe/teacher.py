"""Teacher mode of the smollm2-tools corpus stage: a strong model behind an OpenAI-compatible
server writes the training rows instead of the schema-driven synthesis.

It is tooltune's own corpus loop — `generate_questions` → `judge_questions` → `rollout` on one
store, OUT/corpus/teacher.db — run over the *train side* of the tool bank only, so no held-out
tool ever reaches the teacher. The tools are taken in small groups of one domain (a question is
written for, judged against and answered with its group), each language filling its share of
`count`, about one in five being hard negatives. The tools run as the bank's simulated
implementations, the same ones the synthesis and the eval use. Every step is resumable: a rerun
asks only for what the store still lacks.

Rows: trajectories that finished (`final`, no error); for a question that needs a tool, only those
that called one. They have the synthesis rows' shape: OpenAI messages + tools, source="teacher",
kinds=[question kind], lang.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from tooltune.errors import TooltuneError
from tooltune.lang import LANGS


@dataclass
class TeacherSettings:
    base_url: str
    model: str | None = None
    api_key: str | None = None  # never written anywhere
    count: int = 500  # questions per language (positives + hard negatives)
    negatives: float = 0.2
    fmt: str = "json"
    group_size: int = 3
    max_steps: int = 4
    batch_size: int = 8

    @classmethod
    def of(cls, cfg: Any) -> TeacherSettings:
        """The teacher of a RecipeConfig."""
        return cls(cfg.teacher_base_url or "", cfg.teacher_model, cfg.teacher_api_key, cfg.teacher_count, fmt=cfg.teacher_format)


def base_url_host(url: str) -> str:
    """host[:port] of a server URL: what the records keep (no path, no user, no password)."""
    parts = urlsplit(url if "//" in url else f"//{url}")
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def tool_groups(tools: list[Any], size: int) -> list[list[Any]]:
    """Tools of one domain in groups of at most `size`, in a fixed order (by domain, then id), so a
    rerun asks for the same groups and generation resumes where it stopped."""
    by_domain: dict[str, list[Any]] = {}
    for t in sorted(tools, key=lambda t: (t.domain, t.id)):
        by_domain.setdefault(t.domain, []).append(t)
    return [d[i : i + size] for d in by_domain.values() for i in range(0, len(d), size)]


def teacher_rows(settings: TeacherSettings, train_tools: list[Any], db: Path,
                 log: Callable[[str], None] = print, llm: Any = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(training rows, counts) from the teacher over `train_tools`; the work is kept in `db`."""
    from tooltune.data.generate import generate_questions
    from tooltune.data.judge import judge_questions
    from tooltune.data.rollout import RolloutConfig, rollout
    from tooltune.data.store import Store
    from tooltune.data.synth.corpus import simulated_registry
    from tooltune.llm import make_llm

    if llm is None:
        llm = make_llm(settings.model, settings.base_url, settings.api_key)
    groups = tool_groups(train_tools, settings.group_size)
    with Store(db) as store:
        for lang in LANGS:
            for g, group in enumerate(groups):
                # Cumulative targets: the store's count of generated questions per language must reach
                # each group's share in turn (that is how generate_questions resumes).
                target = round(settings.count * (g + 1) / len(groups))
                if target < 1 or target == round(settings.count * g / len(groups)):
                    continue
                generate_questions(store, llm, [t.spec(lang) for t in group], lang, target, settings.negatives,
                                   per_request=10, patience=2)
            log(f"[corpus] teacher: {lang} questions written")
        verdicts = judge_questions(store, llm, batch_size=settings.batch_size)
        log(f"[corpus] teacher: judged {sum(v for k, v in verdicts.items() if k.startswith('verdict'))} questions")
        config = RolloutConfig(fmt=settings.fmt, max_steps=settings.max_steps, batch_size=settings.batch_size)
        outcomes = rollout(store, llm, simulated_registry(train_tools), config)
        log(f"[corpus] teacher: rollouts {dict(outcomes)}")
        rows, skipped = _rows(store)
        counts = {"questions": _question_counts(store), "rows": len(rows), "rows_by_lang": dict(Counter(r["lang"] for r in rows)),
                  "hard_negative_rows": sum(1 for r in rows if r["kinds"] == ["negative"]), "skipped": dict(skipped),
                  "tool_groups": len(groups)}
    if not rows:
        raise TooltuneError(f"the teacher gave no usable trajectory (see {db}: `tooltune annotate --data {db}`); "
                            "check --base-url/--model, or run without them to use the synthesis")
    return rows, counts


def _rows(store: Any) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Finished rollouts as training rows, in store order; the rest counted by why they were left out."""
    rows, skipped = [], Counter()
    for s in store.samples(source="rollout"):
        calls = any(m.tool_calls for m in s.sample.messages if m.role == "assistant")
        if s.error or s.meta.get("trajectory_status") != "final":
            skipped[s.meta.get("trajectory_status") or "error"] += 1
        elif s.expect_tool_call and not calls:
            skipped["answered without the tool"] += 1
        else:
            kind = "positive" if s.expect_tool_call else "negative"
            rows.append({**s.sample.to_openai(), "source": "teacher", "kinds": [kind], "lang": s.lang or "en"})
    return rows, skipped


def _question_counts(store: Any) -> dict[str, int]:
    """Generated and kept questions per kind: {"positive/approved": n, "negative/rejected": n, …}."""
    return dict(sorted(store.counts()["questions"].items()))


def teacher_record(settings: TeacherSettings) -> dict[str, Any]:
    """What done.json and the adapter's recipe.json say about the teacher: never the API key."""
    return {"model": settings.model, "base_url_host": base_url_host(settings.base_url),
            "licence": "outputs of the user's teacher model: its terms of use apply"}
