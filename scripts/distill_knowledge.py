"""Self-distillation for recipe v3: the base SmolLM2-135M-Instruct's own answers to knowledge and
small-talk questions (src/tooltune/data/synth/knowledge_questions.txt), kept where they are good,
so tuning for tools does not erase what the model knew (v2's adapter refused such questions).

"Good" is checked automatically: an answer is dropped when it refuses ("I can't", "无法"), is under
three words, repeats itself, or runs past the token budget without ending a sentence. Greedy, the
model's own chat template, no tools in the prompt. Output: knowledge.jsonl beside the questions
(one row per kept answer, with the reason for each dropped one printed).

Run (about 3 minutes on 2 CPU cores): `OMP_NUM_THREADS=2 python scripts/distill_knowledge.py`
"""

from __future__ import annotations

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "src" / "tooltune" / "data" / "synth"


def good(answer: str) -> str | None:
    """Why an answer is not kept, or None when it is."""
    from tooltune.eval.chat_check import REFUSAL

    if REFUSAL.search(answer):
        return "refusal"
    if len(answer.split()) < 3 and len(answer) < 8:
        return "too short"
    sentences = [s.strip() for s in re.split(r"(?<=[.!?。！？])\s*", answer) if s.strip()]
    if len(sentences) != len(set(sentences)):
        return "repeats"
    return None


def trim(text: str) -> str:
    """Cut at the last sentence end: a budget-cut answer ends on a whole sentence."""
    text = text.strip()
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s|$)|[。！？]", text)]
    return text[: ends[-1]] if ends else ""


def main() -> None:
    import torch

    from tooltune.llm.transformers_backend import load_pretrained

    torch.manual_seed(0)
    from tooltune.data.synth.corpus_v3 import knowledge_questions

    # Only the train side needs answers: the held-out questions are asked of each model at check time.
    lines = knowledge_questions(held_out=False)
    model, tok = load_pretrained(None)
    tok.padding_side = "left"
    rows, dropped = [], []
    for i in range(0, len(lines), 12):
        batch = lines[i:i + 12]
        prompts = [tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True) for _, q in batch]
        enc = tok(prompts, return_tensors="pt", padding=True)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=80, do_sample=False, pad_token_id=tok.pad_token_id or tok.eos_token_id)
        for (lang, q), ids in zip(batch, out[:, enc["input_ids"].shape[1]:]):
            text = tok.decode(ids, skip_special_tokens=True)
            answer = text.strip() if ids[-1].item() in (tok.eos_token_id, tok.pad_token_id) or "<|im_end|>" in text else trim(text)
            why = good(answer)
            if why:
                dropped.append((q, why, answer[:80]))
            else:
                rows.append({"lang": lang, "q": q, "a": answer})
        print(f"{min(i + 12, len(lines))}/{len(lines)}", flush=True)
    tmp = HERE / "knowledge.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(HERE / "knowledge.jsonl")
    for q, why, a in dropped:
        print(f"dropped ({why}): {q} -> {a!r}")
    print(f"kept {len(rows)} of {len(lines)}")


if __name__ == "__main__":
    main()
