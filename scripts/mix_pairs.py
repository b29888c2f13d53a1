"""Mix mined preference pairs by kind: cap some kinds, so that the pairs preferring a call do not
outnumber those preferring no call (DPO learns what its pairs prefer; docs/training.md).

Run: `python scripts/mix_pairs.py OUT_JSONL PAIRS_JSONL [PAIRS_JSONL ...] [kind=N ...]`
Each PAIRS_JSONL needs the report `tooltune pairs mine` wrote beside it (PAIRS.report.json, whose
`pairs_detail` names each row's kind). `kind=N` keeps the first N pairs of that kind (the rest:
all). Prints the counts kept per kind.
"""

import json
import sys
from collections import Counter
from pathlib import Path

argv = sys.argv[1:]
caps = {k: int(v) for k, v in (a.split("=") for a in argv if "=" in a)}
out, files = argv[0], [a for a in argv[1:] if "=" not in a]
kept: Counter[str] = Counter()
rows = []
for f in files:
    detail = json.loads(Path(f).with_suffix(".report.json").read_text())["pairs_detail"]
    lines = Path(f).read_text(encoding="utf-8").splitlines()
    if len(detail) != len(lines):
        sys.exit(f"{f}: {len(lines)} rows but {len(detail)} in its report; pass the pairs file as `tooltune pairs mine` wrote it")
    for d, line in zip(detail, lines):
        if kept[d["kind"]] < caps.get(d["kind"], 10**9):
            kept[d["kind"]] += 1
            rows.append(line)
Path(out).write_text("\n".join(rows) + "\n", encoding="utf-8")
print(dict(kept), len(rows), "->", out)
