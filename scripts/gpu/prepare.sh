#!/usr/bin/env bash
# The CPU side of a recipe run on a lent GPU (docs/recipe.md, "Corpus on the CPU, training on a GPU"). Builds the
# corpus here, then packs all the device needs into one bundle — the embedded GGUF, the corpus
# stage (xz) and wheels of the dependencies the device image may lack (scripts/gpu/wheels.py) —
# split into parts of 44 MiB: with the ~14 MiB working tree, under the 64 MiB one device call carries: .gpu/1, .gpu/2, … (git-ignored).
# On the device, back to back (the machine keeps /tmp while it is warm, ~30 s idle):
#   every part but the last, carry [".gpu/N"]:  mkdir -p /tmp/gpu && cp .gpu/N/* /tmp/gpu/
#   the last, carry [".gpu/LAST"]:              bash scripts/gpu/device.sh OUT STEPS [recipe options]
# Usage: bash scripts/gpu/prepare.sh [OUT=runs/v3-gpu] [N_SYNTH=30000] [corpus options...]
set -euo pipefail
out=${1:-runs/v3-gpu}; n=${2:-30000}; shift $(( $# < 2 ? $# : 2 ))
root=$(git rev-parse --show-toplevel); cd "$root"
py=${PYTHON:-.venv/bin/python}
grep -qxF /.gpu/ .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude

"$py" -m tooltune.cli recipe smollm2-tools --out "$out" --stages sources,corpus --n-synth "$n" "$@"

rm -rf .gpu && mkdir -p .gpu/bundle/wheels
gguf=$("$py" -c 'from tooltune.llm.embedded import embedded_model_path; print(embedded_model_path())')
cp "$gguf" .gpu/bundle/
# The corpus stage as the sweep and train stages read it (nothing else of it is needed there).
tar -C "$out" -cJf .gpu/bundle/corpus.tar.xz corpus/train.jsonl corpus/done.json corpus/train_tool_names.json
# The device image listed these on 2026-11-17 (the library's device notes); set DEVICE_HAS= to carry all.
has=${DEVICE_HAS-matplotlib,pillow,fonttools,lxml,kiwisolver,contourpy,cycler,pyparsing,pygments,rich,typer,click,sacrebleu,regex,pyyaml,psutil,requests,urllib3,certifi,idna,charset-normalizer,tqdm,packaging,six,python-dateutil,absl-py,joblib,portalocker,tabulate,colorama,h11,httpcore,anyio,markdown-it-py,mdurl,shellingham,attrs,cloudpickle,annotated-doc}
"$py" scripts/gpu/wheels.py .gpu/bundle/wheels "${DEVICE_PYTHON:-3.12}" "$has"
tar -C .gpu -cf .gpu/bundle.tar bundle && rm -rf .gpu/bundle
sha256sum .gpu/bundle.tar | cut -d' ' -f1 > .gpu/sha256
split -b 44M -d -a 1 .gpu/bundle.tar .gpu/part_ && rm .gpu/bundle.tar
parts=$(ls .gpu/part_* | wc -l)
for i in $(seq 1 "$parts"); do mkdir -p ".gpu/$i" && mv ".gpu/part_$((i - 1))" ".gpu/$i/"; done
mv .gpu/sha256 ".gpu/$parts/"
du -sh .gpu/*
echo "ready: carry .gpu/1 … .gpu/$((parts - 1)) (cp to /tmp/gpu), then .gpu/$parts with: bash scripts/gpu/device.sh $out STEPS"
