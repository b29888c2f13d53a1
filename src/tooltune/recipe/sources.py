"""Offline sources of tool-use dialogues that registry packages ship, fetched with pip.

Only training-grade data with a licence that allows it: LLaMA-Factory's sdist carries the glaive
tool-call demos (300 English + 300 Chinese dialogues, Apache-2.0 like the package). Public
benchmarks (BFCL, API-Bank…) are evaluation data and are never used here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from tooltune.errors import TooltuneError

LLAMAFACTORY = "llamafactory==0.9.5"
GLAIVE_FILES = ("glaive_toolcall_en_demo.json", "glaive_toolcall_zh_demo.json")


def fetch_glaive(dest: Path) -> dict[str, Any]:
    """Download LLaMA-Factory's sdist (no install, no dependencies) and take the glaive demos out
    of its data/ folder. Returns the provenance record written next to them."""
    dest.mkdir(parents=True, exist_ok=True)
    if all((dest / f).exists() for f in GLAIVE_FILES):
        return json.loads((dest / "source.json").read_text(encoding="utf-8"))
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", LLAMAFACTORY, "-d", str(dest / "pip")]
    done = subprocess.run(cmd, capture_output=True, text=True)
    sdists = sorted((dest / "pip").glob("llamafactory-*.tar.gz"))
    if done.returncode != 0 or not sdists:
        last = (done.stderr.strip().splitlines() or ["no sdist downloaded"])[-1]
        raise TooltuneError(f"could not download the {LLAMAFACTORY} sdist from PyPI ({last}); rerun with network access to PyPI, or --no-glaive")
    with tarfile.open(sdists[0]) as tar:
        for name in GLAIVE_FILES:
            member = next((m for m in tar.getmembers() if m.name.endswith("/data/" + name)), None)
            if member is None:
                raise TooltuneError(f"{sdists[0].name} has no data/{name}: the recipe expects {LLAMAFACTORY}")
            (dest / name).write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
    record = {"source": f"PyPI sdist {LLAMAFACTORY}, data/{{{','.join(GLAIVE_FILES)}}}", "licence": "Apache-2.0",
              "files": {n: len(json.loads((dest / n).read_text(encoding="utf-8"))) for n in GLAIVE_FILES},
              "not_used": {"data/reason_tool_use_demo_50.jsonl": "long reasoning traces, beyond a 135M model's context budget on CPU"}}
    (dest / "source.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def glaive_samples(dest: Path) -> list[Any]:
    """The glaive demos as canonical samples (the project's ShareGPT reader)."""
    from tooltune.data.convert import from_sharegpt

    out = []
    for name in GLAIVE_FILES:
        for obj in json.loads((dest / name).read_text(encoding="utf-8")):
            try:
                out.append(from_sharegpt(obj))
            except (TooltuneError, KeyError, ValueError):
                continue
    return out
