"""What schema-constrained tool calls cost and buy on the embedded SmolLM2-135M (+ shipped adapter).

Speed (default): 24 tools in every prompt (the 3 built-ins and 21 with enums, integers, arrays
of objects), json format, greedy. For each question, free and constrained decoding alternate
(the order flips every question) on the same prompt, whose KV cache is warmed first (that
prefill is timed: it is the same for both), so both time decoding alone: tokens/s, the tokens
whose choice the mask changed, and the first token with the prompt cached (what a constraint
adds to time to first token: copying the compiled grammar and the first check; the grammar's
one-off compile is timed on its own). Then the mask itself: llguidance's per-token check and full mask
for the 24-tool grammar, inside a call and in free text, against the model's per-token time.

Accuracy: `tooltune eval` on the smoke set run twice (`--no-constrain` and the default), then

    python benchmarks/constrained_decoding.py --results FREE_OUT/runs/embedded__json.jsonl CONSTRAINED_OUT/runs/embedded__json.jsonl

compares the items both runs hold, and prints every teacher-forced completion that changed.

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/constrained_decoding.py [--questions 8] [--max-tokens 64]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from tooltune.formats import get_format
from tooltune.formats.grammar import constraint_for
from tooltune.lang import lang_or_en
from tooltune.llm.base import GenerationRequest
from tooltune.messages import Message, read_jsonl
from tooltune.tools import builtin_registry

QUESTIONS = [
    "What is 23 * 47 + 12?", "What's the weather in Berlin in celsius?", "Convert 100 USD to EUR.",
    "Book a table for two at 7pm at Chez Anna.", "Order 2 of item A1 and 1 of B2.", "北京明天天气怎么样？",
    "Translate 'good morning' to French.", "Remind me to call mom at 6pm.", "How far is Paris from Lyon by car?",
    "Set the thermostat in the kitchen to 21 degrees.",
]


def tool_specs() -> list[dict[str, Any]]:
    """24 tools: the built-ins plus 21 whose parameters use enums, integers and arrays of objects."""
    specs = builtin_registry().to_openai()
    s, i = {"type": "string"}, {"type": "integer"}
    extra = {
        "get_weather": ({"city": s, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, ["city"]),
        "convert_currency": ({"amount": {"type": "number"}, "from": s, "to": s}, ["amount", "from", "to"]),
        "send_email": ({"to": s, "subject": s, "body": s}, ["to", "body"]),
        "translate": ({"text": s, "target": {"type": "string", "enum": ["fr", "de", "es", "zh", "ja"]}}, ["text", "target"]),
        "book_restaurant": ({"name": s, "time": s, "people": i}, ["name", "time", "people"]),
        "distance": ({"origin": s, "destination": s, "mode": {"type": "string", "enum": ["car", "train", "walk"]}}, ["origin", "destination"]),
        "set_reminder": ({"when": s, "text": s}, ["when", "text"]),
        "search_flights": ({"origin": s, "destination": s, "date": s}, ["origin", "destination"]),
        "place_order": ({"items": {"type": "array", "items": {"type": "object", "properties": {"sku": s, "qty": i}, "required": ["sku", "qty"]}}}, ["items"]),
        "set_thermostat": ({"room": s, "celsius": {"type": "number"}}, ["room", "celsius"]),
        "play_music": ({"artist": s, "shuffle": {"type": "boolean"}}, ["artist"]),
        "create_event": ({"title": s, "start": s, "attendees": {"type": "array", "items": s}}, ["title", "start"]),
        "stock_price": ({"symbol": s}, ["symbol"]),
        "news": ({"topic": s, "limit": i}, ["topic"]),
        "timer": ({"seconds": i}, ["seconds"]),
        "unit_convert": ({"value": {"type": "number"}, "from_unit": s, "to_unit": s}, ["value", "from_unit", "to_unit"]),
        "wiki_summary": ({"title": s, "lang": {"type": "string", "enum": ["en", "zh", "fr"]}}, ["title"]),
        "call_taxi": ({"pickup": s, "dropoff": s}, ["pickup", "dropoff"]),
        "lights": ({"room": s, "on": {"type": "boolean"}}, ["room", "on"]),
        "recipe": ({"dish": s, "servings": i}, ["dish"]),
        "movie_times": ({"movie": s, "city": s}, ["movie", "city"]),
    }
    for name, (props, required) in extra.items():
        specs.append({"type": "function", "function": {"name": name, "description": name.replace("_", " "), "parameters": {
            "type": "object", "properties": props, "required": required}}})
    return specs


def request(question: str, specs: list[dict[str, Any]], max_tokens: int, constrained: bool) -> GenerationRequest:
    fmt = get_format("json")
    return GenerationRequest(
        rendered=fmt.render([Message("user", question)], specs), tools=specs, stop=list(fmt.stop), max_tokens=max_tokens,
        constraint=constraint_for(fmt, specs) if constrained else None,
    )


def timed(llm: Any, req: GenerationRequest) -> tuple[float, Any]:
    start = time.perf_counter()
    out = llm.complete(req)
    return time.perf_counter() - start, out


def speed(questions: int, max_tokens: int) -> None:
    from tooltune.llm import make_llm

    llm = make_llm(None)
    specs = tool_specs()
    prefill: list[float] = []
    rows: dict[bool, dict[str, list[float]]] = {c: {"tps": [], "ttft": [], "masked": [], "tokens": []} for c in (False, True)}
    start = time.perf_counter()
    llm.guide(request("x", specs, 1, True))  # the llguidance tokenizer and this grammar, built once
    compile_s = time.perf_counter() - start
    for n, question in enumerate(QUESTIONS[:questions]):
        prefill_s, _ = timed(llm, request(question, specs, 1, False))  # the whole prompt, once; then cached for both
        prefill.append(prefill_s)
        texts = {}
        for constrained in ((False, True) if n % 2 == 0 else (True, False)):
            seconds, _ = timed(llm, request(question, specs, 1, constrained))  # first token, prompt cached
            rows[constrained]["ttft"].append(seconds)
            counts = _count_masks(llm) if constrained else [0]
            seconds, out = timed(llm, request(question, specs, max_tokens, constrained))
            rows[constrained]["tps"].append(out.completion_tokens / seconds)
            rows[constrained]["tokens"].append(out.completion_tokens)
            rows[constrained]["masked"].append(counts[0])
            texts[constrained] = out.text
        print(f"{question!r}\n  free:        {texts[False]!r}\n  constrained: {texts[True]!r}", flush=True)
    print(f"\n24 tools, json, greedy, {questions} questions, max {max_tokens} tokens; grammar + tokenizer built once in {compile_s * 1000:.0f} ms; "
          f"prefilling a whole prompt ({len(llm.prompt_ids(request(QUESTIONS[0], specs, 1, False)))} tokens) takes {statistics.median(prefill):.2f} s (median)\n")
    print("| decoding | tokens/s (median) | tokens | tokens the mask changed | first token, prompt cached (median) |")
    print("|---|---|---|---|---|")
    for constrained in (False, True):
        r = rows[constrained]
        print(f"| {'constrained' if constrained else 'free'} | {statistics.median(r['tps']):.1f} | {sum(r['tokens']):.0f} | "
              f"{sum(r['masked']):.0f} | {statistics.median(r['ttft']) * 1000:.0f} ms |")
    ratio = statistics.median(rows[True]["tps"]) / statistics.median(rows[False]["tps"])
    print(f"\nconstrained / free decode speed: {ratio:.3f}")
    mask_cost(llm, specs, 1 / statistics.median(rows[False]["tps"]))



def _count_masks(llm: Any) -> list[int]:
    """Records how many tokens the next guide masked (read after the completion)."""
    counts = [0]
    make = llm.guide

    def guide(req: GenerationRequest) -> Any:
        g = make(req)
        if g is not None:
            pick = g.pick

            def counted(logits: Any, temperature: float = 0.0) -> int:
                before = g.masked
                token = pick(logits, temperature)
                counts[0] += g.masked - before
                return token

            g.pick = counted
        llm.guide = make
        return g

    llm.guide = guide
    return counts


def mask_cost(llm: Any, specs: list[dict[str, Any]], token_s: float) -> None:
    """llguidance's own per-token work for the 24-tool grammar, in free text and inside a call."""
    guide = llm.guide(request("x", specs, 1, True))
    lltok = llm._guides.lltok
    points = {"free text": "Let me think about it", "inside a call": '<tool_call>\n{"name": "place_order", "arguments": {"items": [{"sku": "A'}
    print("\n| grammar state | one-token check | full mask | full mask / model token |")
    print("|---|---|---|---|")
    for label, text in points.items():
        matcher = guide.matcher.deep_copy()
        matcher.consume_tokens(lltok.tokenize_str(text))
        check = _per_call(lambda: matcher.validate_tokens([lltok.tokenize_str("1")[0]]))
        full = _per_call(matcher.compute_bitmask)
        print(f"| {label} | {check * 1e6:.0f} µs | {full * 1e6:.0f} µs | {100 * full / token_s:.1f} % |")
    print(f"\nmodel decode time per token (free, median): {token_s * 1000:.1f} ms")


def _per_call(fn: Any, n: int = 200) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def compare_results(free: Path, constrained: Path) -> None:
    """Per-item results of two `tooltune eval` runs (`OUT/runs/<model>__<format>.jsonl`), on the
    items both hold: teacher-forced steps (valid, name, name + exact arguments) and end-to-end."""
    runs = [{r["item_id"]: r for _, r in read_jsonl(p)} for p in (free, constrained)]
    ids = [i for i in runs[0] if i in runs[1]]
    print(f"{len(ids)} items in both: {', '.join(ids)}\n")
    print("| metric | free | constrained |")
    print("|---|---|---|")
    for label, rows in [("valid format (steps)", lambda r: [s["valid"] for s in r["steps"]]),
                        ("tool name EM (call steps)", lambda r: [s["name_match"] for s in r["steps"] if s["expect_call"]]),
                        ("name + exact arguments (call steps)", lambda r: [s["args_match"] for s in r["steps"] if s["expect_call"]]),
                        ("no call where none is expected (steps)", lambda r: [not s["called"] for s in r["steps"] if not s["expect_call"]]),
                        ("end-to-end success", lambda r: [r["e2e"]["success"]] if r.get("e2e") else [])]:
        cells = []
        for run in runs:
            values = [v for i in ids for v in rows(run[i])]
            cells.append(f"{sum(values)} / {len(values)}" if values else "–")
        print(f"| {label} | {cells[0]} | {cells[1]} |")
    changed = [(i, k) for i in ids for k, (a, b) in enumerate(zip(runs[0][i]["steps"], runs[1][i]["steps"])) if a["completion"] != b["completion"]]
    print(f"\nteacher-forced completions that differ: {len(changed)}")
    for i, k in changed:
        print(f"- {i} step {k}:\n    free:        {runs[0][i]['steps'][k]['completion']!r}\n    constrained: {runs[1][i]['steps'][k]['completion']!r}")


def replay(results: Path, fmt_name: str = "json") -> None:
    """Which completions of a free `tooltune eval` run the grammar would have changed. Greedy
    constrained decoding takes the model's own token whenever the grammar allows it, so a free
    completion that lies wholly inside the grammar is exactly what the constrained run writes;
    only the others differ. No model needed: each completion is fed through its item's grammar."""
    from tooltune.eval.items import load_items, smoke_eval_path
    from tooltune.llm.constrain import GuideFactory
    from tooltune.llm.loading import load_tokenizer

    tokenizer = load_tokenizer()
    factory = GuideFactory(tokenizer, {tokenizer.eos_token_id})
    items = {i.id: i for i in load_items(smoke_eval_path())}
    inside, outside = 0, []
    for _, row in read_jsonl(results):
        item = items[row["item_id"]]
        guide = factory.guide(constraint_for(get_format(fmt_name, lang_or_en(item.lang)), item.tools))
        for step in row["steps"]:
            tokens = factory.lltok.tokenize_str(step["completion"])
            matcher = guide.matcher.deep_copy() if guide else None
            if matcher is None or matcher.validate_tokens(tokens) == len(tokens):
                inside += 1
            else:
                outside.append((row["item_id"], step["index"], step["completion"]))
    print(f"{inside} of {inside + len(outside)} teacher-forced completions lie inside the grammar (unchanged under constraints)")
    for item_id, index, text in outside:
        print(f"- {item_id} step {index}: {text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--results", nargs=2, type=Path, metavar=("FREE_JSONL", "CONSTRAINED_JSONL"))
    parser.add_argument("--replay", type=Path, metavar="FREE_JSONL", help="json-format results of a free eval on the smoke set")
    args = parser.parse_args()
    if args.replay:
        replay(args.replay)
    elif args.results:
        compare_results(*args.results)
    else:
        speed(args.questions, args.max_tokens)


if __name__ == "__main__":
    main()
