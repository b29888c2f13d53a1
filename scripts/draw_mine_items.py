"""Draw train-side items for `tooltune pairs mine` from a recipe corpus, stratified by the
first episode kind of each v3 row (what docs/training.md's SFT vs SFT+DPO run mined on).

Run: `python scripts/draw_mine_items.py CORPUS_TRAIN_JSONL OUT_JSONL [SEED] [kind=N ...]`
e.g. `python scripts/draw_mine_items.py runs/v3/corpus/train.jsonl mine_items.jsonl 0 \
      parallel=50 single=40 knowledge=25 no_fit=20 chat=7 chain=8`
"""

import json
import random
import sys
from collections import Counter

src, out = sys.argv[1:3]
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
want = {k: int(v) for k, v in (a.split("=") for a in sys.argv[4:])}
rows = [json.loads(line) for line in open(src, encoding="utf-8")]
order = list(range(len(rows)))
random.Random(seed).shuffle(order)
got: Counter[str] = Counter()
picked = []
for i in order:
    row = rows[i]
    if row.get("source") != "synth-v3" or not any(m.get("role") == "assistant" for m in row["messages"]):
        continue
    kind = row["kinds"][0]
    if got[kind] >= want.get(kind, 0):
        continue
    got[kind] += 1
    picked.append({"id": f"train{i}", "messages": row["messages"], "tools": row["tools"], "lang": row["lang"]})
with open(out, "w", encoding="utf-8") as fh:
    for p in picked:
        fh.write(json.dumps(p, ensure_ascii=False) + "\n")
print(dict(got), len(picked))
