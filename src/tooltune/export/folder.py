"""`tooltune export-model`: a tuned model as files other runtimes load, all in the training layout.

OUT/ gets merged safetensors + tokenizer whose chat template is `templates.jinja_template`
(transformers, vLLM), optionally `model-<type>.gguf` (llama.cpp, ollama), an ollama `Modelfile`,
and `tooltune_tool_parser.py` for vLLM (stand-alone: `vllm_plugin.py`). Everything is built in a
temp folder beside OUT and renamed into place at the end, so an interrupted export leaves no
half-written folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError
from tooltune.export import templates
from tooltune.export.gguf_writer import GGUF_TYPES, write_gguf
from tooltune.export.vllm_plugin import write_plugin

CHATML_PROBE = "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"


@dataclass
class ExportResult:
    out: Path
    files: list[str] = field(default_factory=list)


def check_chatml(tokenizer: Any) -> None:
    """The exported template writes ChatML turns; refuse a base model that was trained on others."""
    probe = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    got = tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=True)
    if got != CHATML_PROBE:
        raise TooltuneError("export-model writes ChatML chat templates (SmolLM2, Qwen); this model's template is not ChatML")


def _publish_modes(folder: Path) -> None:
    """mkdtemp makes the folder 0700 and safetensors writes through a private temp file (0600):
    give the export the modes a plain `cp` would (0755/0644 under the umask), so the engines'
    users and containers can read it."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.rglob("*"):
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def export_model(
    model: Any, tokenizer: Any, out: str | Path, *, gguf: str | None = None, gguf_source: Path | None = None,
    ollama: bool = False, lang: str = "en", dtype: str = "float32",
) -> ExportResult:
    import torch

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise TooltuneError(f"--out {out} exists and is not empty: pick a new folder")
    if gguf and gguf not in GGUF_TYPES:
        raise TooltuneError(f"--gguf {gguf}: use one of {', '.join(GGUF_TYPES)}")
    if gguf and gguf_source is None:
        raise TooltuneError("--gguf takes the tokenizer metadata from a GGUF base: use --model embedded or a .gguf file")
    check_chatml(tokenizer)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        tokenizer.chat_template = templates.jinja_template(lang)
        model.to({"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype])
        model.save_pretrained(work, safe_serialization=True)
        tokenizer.save_pretrained(work)
        model.to(torch.float32)
        (work / "chat_template.jinja").write_text(tokenizer.chat_template, encoding="utf-8")
        write_plugin(work / "tooltune_tool_parser.py")
        gguf_name = f"model-{gguf}.gguf" if gguf else None
        if gguf:
            write_gguf(model, gguf_source, work / gguf_name, gguf, tokenizer.chat_template)
        if ollama:
            (work / "Modelfile").write_text(templates.modelfile(gguf_name, lang), encoding="utf-8")
        (work / "tooltune_export.json").write_text(json.dumps({"format": "json", "lang": lang, "gguf": gguf_name,
                                                              "dtype": dtype}, indent=2) + "\n", encoding="utf-8")
        _publish_modes(work)
        if out.exists():
            out.rmdir()
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return ExportResult(out, sorted(p.name for p in out.iterdir()))
