"""Draw train-side items for `tooltune pairs mine` from a recipe corpus, stratified by the
first episode kind of each v3 row — the prefer stage's draw (`tooltune.recipe.prefer.draw_items`,
`tooltune recipe smollm2-tools --stages prefer --prefer-draws SEED:kind=N,...`), for mining by hand.

Run: `python scripts/draw_mine_items.py CORPUS_TRAIN_JSONL OUT_JSONL [SEED] [kind=N ...]`
e.g. `python scripts/draw_mine_items.py runs/v3/corpus/train.jsonl mine_items.jsonl 0 \
      parallel=50 single=40 knowledge=25 no_fit=20 chat=7 chain=8`
"""

import sys
from pathlib import Path

from tooltune.messages import write_jsonl_atomic
from tooltune.recipe.prefer import draw_items
from tooltune.recipe.state import parse_counts

src, out = sys.argv[1:3]
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
picked = draw_items(Path(src), seed, parse_counts(",".join(sys.argv[4:]), "kind=N"))
write_jsonl_atomic(out, picked)
print(f"{len(picked)} items -> {out}")
