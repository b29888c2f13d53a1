"""Self-distillation for recipe v3: the base SmolLM2-135M-Instruct's own answers to knowledge and
small-talk questions (src/tooltune/data/synth/knowledge_questions.txt), kept where they are good,
so tuning for tools does not erase what the model knew (v2's adapter refused such questions).

"Good" is checked automatically: an answer is dropped when it refuses ("I can't", "无法"), echoes
the question, is mostly not Chinese for a Chinese question, is under three words, repeats itself,
or runs past the token budget without ending a sentence. Greedy, the model's own chat template,
no tools in the prompt. Output: knowledge.jsonl beside the questions (one row per kept answer,
with the reason for each dropped one printed).

Only English answers are kept (`KEPT_LANGS`). The 135M base model cannot answer in Chinese: on
the 37 Chinese train-side questions (rerun 2026-12-02), 34 answers failed the checks above
(English, about Japanese, echoes, repeats, empty) and the 3 that passed were nonsense when read.
The Chinese train-side questions are answered in knowledge_written.jsonl instead: short answers
written for tooltune (facts checked when written), loaded beside these by corpus_v3.load_knowledge.

The automatic checks cannot see a wrong fact. Every kept English answer was also read
(2026-12-02) and the ones that state something false or read as nonsense are listed in
`REJECTED_ON_READING` with the reason: 25 of the 45 (the largest planet is "Neptune, but it's
actually Uranus"; the square root of 144 is "approximately 14.4"; 11 planets; …). Self-distillation
is there to keep what the model knew, not what it gets wrong.

Run (about 3 minutes on 2 idle CPU cores): `OMP_NUM_THREADS=2 python scripts/distill_knowledge.py`
"""

from __future__ import annotations

import re

KEPT_LANGS = ("en",)
# Answers read and rejected (greedy decoding gives the same answer on every run, so the verdict holds).
REJECTED_ON_READING = {
    "Why is the sea salty?": "salt 'dissolved in the atmosphere', released by evaporation, 'the ocean's metabolism'",
    "What is the largest planet in our solar system?": "'Neptune, but it's actually Uranus' (Jupiter)",
    "What is the speed of light?": "'299.8 million kilometers per hour' (about 300,000 km per second)",
    "What is the square root of 144?": "'approximately 14.4' (12)",
    "What causes the seasons on Earth?": "the tilt 'causes the axis to move at a different speed than the spinning of the Moon'",
    "What is an atom?": "'makes up all living organisms, including atoms themselves'",
    "Why do leaves change color in autumn?": "credits the colours to photosynthesis",
    "Who discovered penicillin?": "'a team of scientists', a bacterium 'resistant to a previously developed antibiotic'",
    "How many bones are in the adult human body?": "'a specific pattern called the diaphysis, which is the embryonic period'",
    "Who invented the telephone?": "Bell 'at Bell Labs in the early 1800s'",
    "What is the longest river in the world?": "the Amazon at 7,500 km, stated as settled",
    "What is the freezing point of water in Fahrenheit?": "'-18' (32 °F)",
    "Who developed the theory of relativity?": "an invented 'Einstein Accelerator' at the 'University of Germany'",
    "What is the smallest unit of life?": "'biotic cell', circular",
    "Why do we have day and night?": "mixes the year into the rotation: '365.25 days ... one rotation'",
    "How many minutes are in a day?": "'24/360, approximately 0.1578' (1,440)",
    "What is the Pythagorean theorem?": "limits it to 'integer side lengths'",
    "What is the hardest natural substance?": "a 'concept' attributed to Newton (diamond)",
    "Why do cats purr?": "an invented 'purring game'",
    "Tell me a fun fact about octopuses.": "'a complex social structure' (octopuses live alone)",
    "What is the meaning of the word \"ephemeral\"?": "'constantly changing' (short-lived)",
    "What is 15 percent written as a fraction?": "'multiply 15 by 100%', '15% of 15%'",
    "Who are you?": "a creative-writing helper, not the assistant with tools it is tuned to be",
    "Tell me a joke.": "a question without a punchline",
    "How many planets are in the solar system?": "'approximately 100,000', '11 planets' (8)",
}


def good(answer: str, lang: str = "en", question: str = "") -> str | None:
    """Why an answer is not kept, or None when it is."""
    from tooltune.eval.chat_check import REFUSAL

    if lang not in KEPT_LANGS:
        return f"{lang}: not kept (see KEPT_LANGS)"
    if question in REJECTED_ON_READING:
        return f"read and rejected: {REJECTED_ON_READING[question]}"
    if REFUSAL.search(answer):
        return "refusal"
    if question and answer.startswith(question):
        return "echoes the question"
    letters = [ch for ch in answer if ch.isalpha()]
    if lang == "zh" and sum("\u4e00" <= ch <= "\u9fff" for ch in letters) < 0.5 * len(letters):
        return "not Chinese"  # for a teacher that is asked Chinese questions
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
    from tooltune.data.synth.corpus_v3 import KNOWLEDGE_PATHS, knowledge_questions
    from tooltune.messages import write_jsonl_atomic

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
            why = good(answer, lang, q)
            if why:
                dropped.append((q, why, answer[:80]))
            else:
                rows.append({"lang": lang, "q": q, "a": answer})
        print(f"{min(i + 12, len(lines))}/{len(lines)}", flush=True)
    write_jsonl_atomic(KNOWLEDGE_PATHS[0], rows)
    for q, why, a in dropped:
        print(f"dropped ({why}): {q} -> {a!r}")
    print(f"kept {len(rows)} of {len(lines)}")


if __name__ == "__main__":
    main()
