"""What the right number of calls alone would win on BFCL parallel: each item decoded twice,
constrained json, as the model decides and with the expected number of calls forced (after a
call closes, while fewer than expected were made, the next call is opened for it; what it
holds stays the model's). An upper bound for any fix of the call count at decoding time.

Run: PYTHONPATH=src python scripts/probe_call_count.py OUT.jsonl [LIMIT=23] [ADAPTER]
"""

import json
import sys
from pathlib import Path

from tooltune.eval.bench import BenchSettings, _agent, score_item
from tooltune.eval.bfcl import load_items
from tooltune.llm import make_llm


class ForcedCount:
    """A guide that opens calls until `want` are made, then defers to the grammar's guide."""

    def __init__(self, guide, tokenizer, want: int) -> None:
        self.guide, self.tok, self.want = guide, tokenizer, want
        self.text, self.queue = "", []
        self.opener = tokenizer.encode("\n<tool_call>", add_special_tokens=False)

    @property
    def live(self) -> bool:
        return self.guide.live

    def pick(self, logits, temperature: float = 0.0) -> int:
        if not self.queue and self.text.rstrip().endswith("</tool_call>") and self.text.count("</tool_call>") < self.want:
            self.queue = self.opener[1:] if self.text.endswith("\n") else list(self.opener)
        return self.queue[0] if self.queue else self.guide.pick(logits, temperature)

    def accept(self, token: int) -> None:
        if self.queue and self.queue[0] == token:
            self.queue.pop(0)
        self.text += self.tok.decode([token])
        self.guide.accept(token)


def main(out: Path, limit: int, adapter: str | None) -> None:
    llm = make_llm("embedded-base" if adapter else "embedded", adapter=adapter, backend="transformers", device="cpu")
    own_guide = llm.guide
    settings = BenchSettings(format="json", constrain=True)
    right = {"model": 0, "forced": 0}
    rows = []
    for item in load_items(["parallel"], limit=limit):
        results = {}
        for mode in right:
            want = len(item.answer or []) if mode == "forced" else 0
            llm.guide = (lambda request, w=want: ForcedCount(own_guide(request), llm.tokenizer, w)) if want else own_guide
            agent = _agent(llm, item, settings)
            results[mode] = score_item(item, agent, llm.complete(agent.request(item.messages)))
            right[mode] += results[mode]["valid"]
        rows.append({"id": item.id, "expected_calls": len(item.answer or []), **{m: {"calls": len(r["calls"]), "valid": r["valid"]} for m, r in results.items()}})
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    short = [r for r in rows if r["model"]["calls"] < r["expected_calls"]]
    print(f"{len(rows)} items: right as the model decides {right['model']}, with the expected count forced {right['forced']}; "
          f"too few calls on {len(short)}, of which forcing made {sum(r['forced']['valid'] for r in short)} right")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]), int(args[1]) if len(args) > 1 else 23, args[2] if len(args) > 2 else None)
