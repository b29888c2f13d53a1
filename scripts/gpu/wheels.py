"""Wheels of everything tooltune needs on the device machine but its image may lack, at the
versions installed here, for the device's Python (prepare.sh). The image brings torch with its
CUDA stack, transformers, accelerate and peft: torch and all it needs, those three and the
compiled libraries they stand on (tokenizers, safetensors, huggingface-hub, numpy) are left out
(installing ours over them could replace the image's CUDA build). A dependency PyPI offers only
as an sdist (rouge-score) is built here into a pure-Python wheel.

Usage: python scripts/gpu/wheels.py DEST [PYTHON_VERSION=3.12] [SKIP=name,name,...]
SKIP: distributions the device image is known to hold (they would only add to the carry).
"""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

IMAGE = ("torch", "transformers", "accelerate", "peft")
IMAGE_LIBS = ("tokenizers", "safetensors", "huggingface-hub", "numpy", "hf-xet")
PLATFORMS = ["manylinux_2_34_x86_64", "manylinux_2_31_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]


def closure(names: list[str]) -> dict[str, str]:
    """Installed distributions reachable from `names` through their requirements (no extras)."""
    found: dict[str, str] = {}
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in found:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        found[name] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def main(dest: Path, python: str, skip: set[str]) -> None:
    deps = [Requirement(d).name for d in tomllib.loads(Path("pyproject.toml").read_text())["project"]["dependencies"]]
    left = set(closure(["torch"])) | {canonicalize_name(n) for n in IMAGE + IMAGE_LIBS} | skip
    keep = {n: v for n, v in closure(deps).items() if n not in left}
    dest.mkdir(parents=True, exist_ok=True)
    for name, version in sorted(keep.items()):
        spec = f"{name}=={version}"
        binary = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", python,
                  "--implementation", "cp", *(a for p in PLATFORMS for a in ("--platform", p)), "-d", str(dest), spec]
        if subprocess.run(binary, capture_output=True).returncode != 0:
            subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest), spec], check=True, capture_output=True)
    print(f"{len(keep)} wheels -> {dest}")


if __name__ == "__main__":
    skipped = {canonicalize_name(n) for n in (sys.argv[3] if len(sys.argv) > 3 else "").split(",") if n.strip()}
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "3.12", skipped)
