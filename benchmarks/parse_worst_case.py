"""Worst-case parse time: degenerate completions at 20 kB and 200 kB, every format.

The parser contract is "time roughly linear in the input": the 200 kB column should be about ten
times the 20 kB one, and well under a second. For scale, the last row times the stdlib's
`json.loads` on a valid JSON string of the same size, timed the same way (best of 3, wall clock).

    PYTHONPATH=src python benchmarks/parse_worst_case.py
"""

from __future__ import annotations

import json
import time

from tooltune.formats import get_format
from tooltune.tools import builtin_registry

TOOLS = builtin_registry().to_openai()


def shapes(n: int) -> dict[str, str]:
    return {
        "open brackets": "[" * n,
        "nested braces": "{" * (n // 2) + "}" * (n // 2),
        "unclosed string": '{"query": "' + "x" * n,
        "long valid string": '{"query": "' + "x" * n + '"}',
        "many Action lines": "Action: web_search\n" * (n // 19),
        "many <tool_call>": "<tool_call>" * (n // 11),
        "whitespace run": "```" + " " * n,
    }


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    prefixes = {"react": "Action: web_search\nAction Input: ", "json": "<tool_call>", "native": "<tool_call>"}
    print(f"{'input':22s} {'format':7s} {'20 kB ms':>9s} {'200 kB ms':>10s}")
    for name in shapes(10):
        for fmt_name, prefix in prefixes.items():
            fmt = get_format(fmt_name)
            cols = [best_of(lambda: fmt.parse(prefix + shapes(n)[name], TOOLS)) * 1000 for n in (20_000, 200_000)]
            print(f"{name:22s} {fmt_name:7s} {cols[0]:9.1f} {cols[1]:10.1f}")
    cols = [best_of(lambda: json.loads(shapes(n)["long valid string"])) * 1000 for n in (20_000, 200_000)]
    print(f"{'json.loads (stdlib)':22s} {'-':7s} {cols[0]:9.1f} {cols[1]:10.1f}")


if __name__ == "__main__":
    main()
