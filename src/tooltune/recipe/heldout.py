"""The recipe's held-out eval items: tools of the bank's held-out side, never offered in training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.messages import write_jsonl_atomic
from tooltune.recipe.state import RecipeConfig, stage_dir


def heldout_items(cfg: RecipeConfig) -> tuple[Path, list[Any]]:
    """Held-out eval items from the bank's held-out side, written once; refuses any tool that the
    training corpus offered (the split is by tool, so a leak means the bank or split changed)."""
    from tooltune.data.synth.bank import load_bank, split_bank
    from tooltune.data.synth.corpus import eval_items, split_chat

    path = stage_dir(cfg, "eval") / "heldout_eval.jsonl"
    _, held_tools = split_bank(load_bank(), cfg.held_out)
    if not path.exists():
        used = set(json.loads((stage_dir(cfg, "corpus") / "train_tool_names.json").read_text(encoding="utf-8")))
        leaked = sorted(used & {t.name for t in held_tools})
        if leaked:
            raise TooltuneError(f"held-out tools were offered in training: {', '.join(leaked[:5])}; rebuild the corpus stage")
        write_jsonl_atomic(path, eval_items(held_tools, split_chat()[1], cfg.eval_per_tool, seed=cfg.seed + 1))
    return path, held_tools
