"""Running one step's tool calls: several at once, bounded, results in call order.

A model that emits three independent calls in one step (weather in three cities) should wait for
the slowest, not for the sum. Each call keeps its own tool's timeout (`Tool.timeout_s`, enforced
inside `Tool.invoke`), so one hung tool costs its timeout and the others still return.
"""

from __future__ import annotations

import concurrent.futures

from tooltune.messages import ToolCall
from tooltune.tools import ToolRegistry, ToolResult


def run_one(tools: ToolRegistry, call: ToolCall) -> ToolResult:
    if call.name in tools:
        return tools.get(call.name).invoke(call.arguments, call.id)
    return ToolResult(call.name, f"unknown tool {call.name!r}; available: {', '.join(tools.names)}", True, call.id)


def run_calls(tools: ToolRegistry, calls: list[ToolCall], max_parallel: int = 4) -> list[ToolResult]:
    """Results in the order of `calls`, whatever order they finish in. A single call runs
    directly (no pool), which keeps the common one-call step cheap."""
    if len(calls) <= 1 or max_parallel <= 1:
        return [run_one(tools, c) for c in calls]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(max_parallel, len(calls)), thread_name_prefix="tooltune-step") as pool:
        return list(pool.map(lambda c: run_one(tools, c), calls))
