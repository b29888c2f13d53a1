"""Evaluation of tool use: per-step call accuracy (AST + fuzzy), no-call accuracy, free-running
end-to-end success, human rubric, reports across models and prompt formats (`tooltune eval`).

Modules: `items` (eval items), `metrics` (per-step scores), `runner` (one model × one format,
resumable), `aggregate` (summaries), `report` (markdown/JSON/PNG), `evaluate` (models × formats),
`planned` (planned runs scored at plan level, `--plan`), `selection_accuracy` (all tools vs the
BM25 top-k, for benchmarks/selection_accuracy.py), `commands` (the CLI). Nothing is imported here, so `tooltune` starts fast.
"""
