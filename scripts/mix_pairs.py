"""Mix mined preference pairs by kind: cap some kinds, so that the pairs preferring a call do not
outnumber those preferring no call — the prefer stage's mix (`tooltune.eval.mine.mix_mined`,
`tooltune recipe smollm2-tools --stages prefer --prefer-caps kind=N,...`), for pairs mined by hand.

Run: `python scripts/mix_pairs.py OUT_JSONL PAIRS_JSONL [PAIRS_JSONL ...] [kind=N ...]`
Each PAIRS_JSONL needs the report `tooltune pairs mine` wrote beside it (PAIRS.report.json, whose
`pairs_detail` names each row's kind). `kind=N` keeps the first N pairs of that kind (the rest:
all). Prints the counts kept per kind.
"""

import sys
from pathlib import Path

from tooltune.eval.mine import mix_mined
from tooltune.messages import write_text_atomic
from tooltune.recipe.state import parse_counts

argv = sys.argv[1:]
out, files = argv[0], [Path(a) for a in argv[1:] if "=" not in a]
rows, kept = mix_mined(files, parse_counts(",".join(a for a in argv if "=" in a), "kind=N"))
write_text_atomic(Path(out), "\n".join(rows) + "\n")
print(dict(kept), len(rows), "->", out)
