"""Loading a model for training, wrapping it with LoRA, saving it so `tooltune run` can load it,
and merging a LoRA adapter back into its base model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError

RUN_INFO = "tooltune_train.json"
DEFAULT_TARGETS = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"


def cuda_bf16() -> bool:
    """bf16 only where the hardware runs it natively (Ampere+); CPU trains in fp32."""
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def tree_masks_supported(model: Any) -> bool:
    """False where attention runs in flash-attention kernels, which take no 4-D mask: no tree
    rows there (train/tree.py, train/pair_tree.py)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "flash" not in str(getattr(base.config, "_attn_implementation", "") or "")


def load_for_training(path: str | None) -> tuple[Any, Any]:
    """A fresh (model, tokenizer) pair in fp32 master weights (never the cached inference copy,
    since training mutates it). `None` means the embedded SmolLM2 GGUF."""
    from tooltune.llm.loading import load_tokenizer

    return load_training_model(path), load_tokenizer(path)


def load_training_model(path: str | None) -> Any:
    """The model of `load_for_training` alone, for a trainer that loaded the tokenizer first."""
    import torch

    from tooltune.llm.loading import load_weights, split_source
    from tooltune.llm.weights_cache import forget_gguf_quantization

    kwargs: dict[str, Any] = {}
    if torch.cuda.is_available() and _has_flash_attn():
        kwargs["attn_implementation"] = "flash_attention_2"
    model = load_weights(path, torch.float32, **kwargs)
    if "gguf_file" in split_source(path)[1]:
        forget_gguf_quantization(model)
    return model


def _has_flash_attn() -> bool:
    import importlib.util

    return importlib.util.find_spec("flash_attn") is not None


def apply_lora(model: Any, rank: int, alpha: int, targets: str, dropout: float = 0.0) -> Any:
    from peft import LoraConfig, get_peft_model

    wanted = [t.strip() for t in targets.split(",") if t.strip()]
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    missing = [t for t in wanted if t not in present]
    if not wanted or missing:
        raise TooltuneError(f"--targets {targets!r}: no module named {missing or wanted} in this model; it has e.g. {sorted(present)[:12]}")
    config = LoraConfig(r=rank, lora_alpha=alpha, target_modules=wanted, lora_dropout=dropout, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def save_trained(model: Any, tokenizer: Any, out: Path, info: dict[str, Any], state_dict: Any = None) -> None:
    """Full model: an HF folder `tooltune run --model OUT` loads. LoRA: the adapter (merge it
    with `tooltune merge`). Written to a temp folder and renamed, so a crash leaves no half model."""
    import shutil

    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".saving"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, **({"state_dict": state_dict} if state_dict is not None else {}))
    tokenizer.save_pretrained(tmp)
    (tmp / RUN_INFO).write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
    for item in tmp.iterdir():
        target = out / item.name
        if target.is_dir():
            shutil.rmtree(target)
        item.replace(target)
    tmp.rmdir()


def merge_adapter(adapter_dir: str | Path, out: str | Path, base: str | None = None) -> Path:
    """Merge a LoRA adapter into its base model and save a plain HF folder."""
    from tooltune.llm.loading import apply_adapter, require_adapter

    adapter_dir, out = require_adapter(adapter_dir), Path(out)
    info_file = adapter_dir / RUN_INFO
    info = json.loads(info_file.read_text(encoding="utf-8")) if info_file.exists() else {}
    base_path = base or info.get("base_model")
    if base_path is None and not info.get("base_is_embedded"):
        raise TooltuneError(f"{adapter_dir} does not record its base model: pass --base PATH")
    model, tokenizer = load_for_training(base_path)
    merged = apply_adapter(model, adapter_dir)
    info = {**info, "merged_from": str(adapter_dir), "lora": None}
    save_trained(merged, tokenizer, out, info)
    return out
