"""The embedded SmolLM2-135M on this CPU, backend by backend, timed the same way in one run:
load time, first-token latency, decode tokens/s, a 5-step agent episode and a 38-item
evaluation-shaped batch (11 tools in every prompt), for transformers with prefix-cache reuse off
and on, with fp32 weights and with int8 weights (`--weights int8`), and llama.cpp when
`llama-cpp-python` is installed.

    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/model_speed.py [--items 38] [--max-tokens 24]

Greedy everywhere. The episode and the batch use fixed, scripted history (the same tool calls
and observations for every backend), so each backend sees identical prompts.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from tooltune.formats import get_format
from tooltune.llm.base import GenerationRequest
from tooltune.messages import Message, ToolCall
from tooltune.tools import builtin_registry

QUESTIONS = [
    "What is 23 * 47 + 12?", "What time is it now in UTC?", "How tall is Mount Everest?", "What is 2 to the power of 16?",
    "What is the square root of 1764?", "Which city is the capital of France?", "What is 15% of 240?",
    "How many seconds are in a day?", "What is 987 - 123?", "What is 3.5 times 12?", "Convert 100 USD to EUR.",
    "What's the weather in Berlin tomorrow?", "Send an email to Ann saying hi.", "Translate 'good morning' to French.",
    "Book a table for two at 7pm.", "How far is Paris from Lyon?", "Remind me to call mom at 6.", "What is 81 divided by 9?",
    "Find flights from Oslo to Rome.",
]


def tool_specs() -> list[dict[str, Any]]:
    """The three built-in tools plus eight plausible extra ones: 11 tools, as in the eval sets."""
    specs = builtin_registry().to_openai()
    for name, what, param in [
        ("get_weather", "Current weather and forecast for a city", "city"), ("convert_currency", "Convert an amount between currencies", "amount"),
        ("send_email", "Send an email to a contact", "to"), ("translate", "Translate text into another language", "text"),
        ("book_restaurant", "Book a restaurant table", "time"), ("distance", "Road distance between two cities", "origin"),
        ("set_reminder", "Create a reminder at a given time", "when"), ("search_flights", "Search flights between two airports", "origin"),
    ]:
        specs.append({"type": "function", "function": {"name": name, "description": what, "parameters": {
            "type": "object", "properties": {param: {"type": "string", "description": f"The {param}"}}, "required": [param]}}})
    return specs


def request(messages: list[Message], specs: list[dict[str, Any]], max_tokens: int, stop: bool = True) -> GenerationRequest:
    fmt = get_format("react", "en")
    return GenerationRequest(rendered=fmt.render(messages, specs), messages=messages, tools=specs,
                             stop=list(fmt.stop) if stop else [], max_tokens=max_tokens)


def episode_requests(specs: list[dict[str, Any]], max_tokens: int, steps: int = 5) -> list[GenerationRequest]:
    """What an agent sends over a 5-step episode: the history grows by one call + observation per step."""
    messages = [Message("user", "Compute 2+3, then times 4, then minus 1, then squared, and tell me the time.")]
    out = []
    for step in range(steps):
        out.append(request(list(messages), specs, max_tokens))
        call = ToolCall("calculator", {"expression": f"{step} + {step + 1}"}, f"call_{step}")
        messages += [Message("assistant", "", tool_calls=[call]), Message("tool", str(2 * step + 1), tool_call_id=f"call_{step}", name="calculator")]
    return out


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(label: str, llm: Any, load_s: float, args: argparse.Namespace, specs: list[dict[str, Any]]) -> dict[str, Any]:
    single = request([Message("user", "Write a short paragraph about the history of Paris.")], specs, args.decode_tokens, stop=False)
    first: list[float] = []
    start = time.perf_counter()
    completion = llm.complete(single, on_text=lambda t: first.append(time.perf_counter()) if not first else None)
    total = time.perf_counter() - start
    ttft = first[0] - start if first else total
    first_again: list[float] = []
    start = time.perf_counter()
    llm.complete(single, on_text=lambda t: first_again.append(time.perf_counter()) if not first_again else None)
    ttft_again = (first_again[0] if first_again else time.perf_counter()) - start
    episode_s, _ = timed(lambda: [llm.complete(r) for r in episode_requests(specs, args.max_tokens)])
    items = [request([Message("user", q)], specs, args.max_tokens) for q in (QUESTIONS * 3)[: args.items]]
    batch_s, _ = timed(lambda: [c for i in range(0, len(items), args.batch_size) for c in llm.complete_batch(items[i : i + args.batch_size])])
    row = {"backend": label, "load_s": load_s, "prompt_tokens": completion.prompt_tokens, "first_token_s": ttft,
           "first_token_again_s": ttft_again, "decode_tok_s": (completion.completion_tokens - 1) / max(total - ttft, 1e-9),
           "episode_s": episode_s, "batch_s": batch_s}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=38)
    parser.add_argument("--max-tokens", type=int, default=24, help="new tokens per episode step / batch item")
    parser.add_argument("--decode-tokens", type=int, default=64, help="new tokens for the first-token / decode measurement")
    parser.add_argument("--batch-size", type=int, default=4, help="as `tooltune eval --batch-size`")
    parser.add_argument("--skip", default="", help="comma-separated rows to skip: off,on,int8,llamacpp")
    args = parser.parse_args()
    specs = tool_specs()
    rows = []
    from tooltune.llm.transformers_backend import TransformersLLM

    load_s, llm = timed(lambda: TransformersLLM(None))
    if "off" not in args.skip:
        rows.append(measure("transformers, reuse off", TransformersLLM(model_obj=llm.model, tokenizer=llm.tokenizer, prefix_cache=False), load_s, args, specs))
    if "on" not in args.skip:
        rows.append(measure("transformers, reuse on", llm, load_s, args, specs))
    if "int8" not in args.skip:
        load_s, int8 = timed(lambda: TransformersLLM(None, weights="int8"))
        rows.append(measure("transformers, reuse on, int8 weights", int8, load_s, args, specs))
    from tooltune.llm.llamacpp_backend import LlamaCppLLM, available

    if available() and "llamacpp" not in args.skip:
        from tooltune.llm.embedded import embedded_model_path

        load_s, cpp = timed(lambda: LlamaCppLLM(embedded_model_path()))
        rows.append(measure("llama.cpp (prefix reuse built in)", cpp, load_s, args, specs))
    else:
        print("llama.cpp: not installed (pip install 'tooltune[llamacpp]'), row skipped")
    print_table(rows, args)


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nembedded SmolLM2-135M-Instruct, greedy, this CPU; episode = 5 steps, batch = {args.items} items "
          f"in batches of {args.batch_size}; {args.max_tokens} new tokens per step/item; 11 tools in every prompt\n")
    head = "| backend | load s | prompt tokens | first token s | first token s, same prompt again | decode tokens/s | 5-step episode s | 38-item batch s |"
    print(head.replace("38", str(args.items)))
    print("|" + "---|" * 8)
    for r in rows:
        print(f"| {r['backend']} | {r['load_s']:.1f} | {r['prompt_tokens']} | {r['first_token_s']:.2f} | {r['first_token_again_s']:.2f} "
              f"| {r['decode_tok_s']:.1f} | {r['episode_s']:.1f} | {r['batch_s']:.1f} |")
    if rows:
        base = rows[0]
        for r in rows[1:]:
            print(f"{r['backend']} vs {base['backend']}: episode {base['episode_s'] / r['episode_s']:.2f}x, batch {base['batch_s'] / r['batch_s']:.2f}x")


if __name__ == "__main__":
    main()
