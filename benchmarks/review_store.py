"""What the recipe's human pass costs: the corpus stage's synthesis + train.jsonl beside writing the
same rows to corpus.db (--review), and what the train stage pays to read the decisions back.

All three timed the same way (time.perf_counter around the call, one run each, same process).
Run: PYTHONPATH=src python benchmarks/review_store.py [--rows 4600]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tooltune.data.synth.bank import load_bank, split_bank
from tooltune.data.synth.corpus import Synth, split_chat
from tooltune.messages import write_jsonl_atomic
from tooltune.recipe.review import human_decisions, write_review_store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=4600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        train, _ = split_bank(load_bank(), 0.2)
        synth = Synth(train, split_chat()[0], 0)
        rows = []
        for _ in range(args.rows):
            sample, kinds, lang = synth.sample()
            rows.append({**sample.to_openai(), "source": "synth", "kinds": kinds, "lang": lang})
        write_jsonl_atomic(folder / "train.jsonl", rows)
        synth_s = time.perf_counter() - started
        started = time.perf_counter()
        write_review_store(folder / "corpus.db", rows)
        store_s = time.perf_counter() - started
        started = time.perf_counter()
        decisions = human_decisions(folder / "corpus.db")
        read_s = time.perf_counter() - started
        size = (folder / "corpus.db").stat().st_size
    table = Table(title=f"recipe human pass, {args.rows} rows")
    for column in ("step", "seconds", "note"):
        table.add_column(column)
    table.add_row("synthesis + train.jsonl (corpus stage without --review)", f"{synth_s:.1f}", "")
    table.add_row("write corpus.db (what --review adds)", f"{store_s:.1f}", f"{size / 1e6:.1f} MB, one transaction")
    table.add_row("read decisions, untouched store (train stage start)", f"{read_s:.2f}", f"{len(decisions)} decisions")
    Console().print(table)


if __name__ == "__main__":
    main()
