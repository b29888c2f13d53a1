"""ScriptedLLM — a test double: returns queued canned completions, records every request.

Use it in tests and demos to drive the agent loop deterministically without a model. It is not a
model and never pretends to be one: when the queue is empty it raises.
"""

from __future__ import annotations

from collections.abc import Iterable

from tooltune.llm.base import LLM, Completion, GenerationRequest, OnText, cut_at_stop


class ScriptedLLM(LLM):
    name = "scripted"

    def __init__(self, responses: Iterable[str | Completion]) -> None:
        self.queue = [r if isinstance(r, Completion) else Completion(r) for r in responses]
        self.requests: list[GenerationRequest] = []

    def complete(self, request: GenerationRequest, on_text: OnText | None = None) -> Completion:
        self.requests.append(request)
        if not self.queue:
            raise RuntimeError("ScriptedLLM: no canned response left")
        completion = self.queue.pop(0)
        text, _ = cut_at_stop(completion.text, request.stop)
        if on_text:
            for word in text.split(" "):  # stream word by word, like a real backend would
                on_text(word + " ")
        return Completion(text, completion.tool_calls, completion.finish_reason or "stop", completion.prompt_tokens,
                          completion.completion_tokens)  # counts as queued (0, 0: "not reported", like a server without usage)
