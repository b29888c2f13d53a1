"""One worker thread between the HTTP handlers and the model: a bounded backlog, drained in batches,
with long prompts kept from stalling short ones.

Handlers never touch the model. They enqueue a job and await its future; the worker takes what
is waiting (up to `max_batch`, same temperature so one `generate` call can serve them), and runs
it through the backend's `complete_batch` — or, for a lone request, `complete` with live text so
streaming clients see tokens as they come. Text reaches a handler through a callback that only
schedules work on the event loop, so a slow client can never hold the worker up. A full backlog is
refused at once (429) instead of letting waits grow without bound.

Fairness. A job whose prompt is longer than `long_prompt` tokens (the handler counted them) goes
to a second lane, served one job at a time and round-robin with the short lane: its prompt is
prefilled `prefill_chunk` tokens per turn into the backend's prefix cache (chunked prefill), and
while it decodes, the worker runs waiting short batches between its tokens (from inside the
text callback, which `decode` calls after every token). So a short request waits for at most one
chunk or one token of a long one, never for a whole 8k-token prefill plus its completion. This
needs a backend with a prefix cache (`TransformersLLM`); others run every job in the short lane.

Cancellation: a job whose `request.cancel` is set (client gone, deadline passed) is dropped
before it starts and stops generating within a token once running; batch rows stop once every
row's client has gone (`AllSet`), since one `generate` call serves them all.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from tooltune.llm.base import LLM, Completion, GenerationRequest
from tooltune.serve.prefill import prefill_step

OnText = Callable[[str], None]


class QueueFull(Exception):
    pass


@dataclass
class Job:
    request: GenerationRequest
    on_text: OnText | None = None
    ids: list[int] | None = None  # prompt token ids, when the handler counted them
    future: Future = field(default_factory=Future)
    kv: Any = None  # the chunked prefill so far (a KV cache holding `prefilled` positions)
    prefilled: int = 0

    @property
    def cancelled(self) -> bool:
        return self.request.cancel is not None and self.request.cancel.is_set()


@dataclass
class AllSet:
    """A cancel flag for a batch: set once every row's own flag is set."""

    flags: list[Any]

    def is_set(self) -> bool:
        return all(f is not None and f.is_set() for f in self.flags)


class BatchEngine:
    def __init__(
        self, llm: LLM, max_batch: int = 8, max_queue: int = 64, gather_seconds: float = 0.005,
        long_prompt: int = 512, prefill_chunk: int = 256,
    ) -> None:
        self.llm, self.max_batch, self.max_queue, self.gather_seconds = llm, max_batch, max_queue, gather_seconds
        self.long_prompt, self.prefill_chunk = long_prompt, prefill_chunk
        cache = getattr(llm, "prefix_cache", None)
        self.interleave = bool(cache is not None and cache.enabled and hasattr(llm, "model"))
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.short: deque[Job] = deque()
        self.long: deque[Job] = deque()
        self._waiting, self._lock, self._closing = 0, threading.Lock(), False
        # Counters for /health, tests and benchmarks.
        self.batches_run = 0
        self.largest_batch = 0
        self.cancelled = 0  # jobs dropped or stopped early because their client left or timed out
        self.prefill_chunks = 0  # chunks of long prompts prefilled between short batches
        self.interleaved = 0  # short batches run while a long job was decoding
        self._worker = threading.Thread(target=self._loop, name="tooltune-batcher", daemon=True)
        self._worker.start()

    @property
    def waiting(self) -> int:
        """Jobs submitted and not yet started."""
        return self._waiting

    def submit(self, request: GenerationRequest, on_text: OnText | None = None, ids: list[int] | None = None) -> Future:
        with self._lock:
            if self._waiting >= self.max_queue:
                raise QueueFull
            self._waiting += 1
        job = Job(request, on_text, ids)
        self.jobs.put(job)
        return job.future

    def close(self) -> None:
        self.jobs.put(None)
        self._worker.join(timeout=5)

    # -- the worker -------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._closing:
            self._take(block=not (self.short or self.long))
            if self.short:
                self._run_short()
            if self.long and not self._closing:
                self._step_long()

    def _take(self, block: bool) -> None:
        """Move submitted jobs into their lanes (waiting for one when `block`); drop cancelled ones."""
        waiting: list[Job | None] = []
        try:
            waiting.append(self.jobs.get() if block else self.jobs.get_nowait())
            if block:  # a moment for requests sent together to arrive together
                waiting.append(self.jobs.get(timeout=self.gather_seconds))
            while True:
                waiting.append(self.jobs.get_nowait())
        except queue.Empty:
            pass
        for job in waiting:
            if job is None:
                self._closing = True
            elif self.interleave and job.ids is not None and len(job.ids) > self.long_prompt:
                self.long.append(job)
            else:
                self.short.append(job)
        for lane in (self.short, self.long):
            for job in [j for j in lane if j.cancelled]:
                lane.remove(job)
                self._started(job)
                self.cancelled += 1
                job.future.cancel()

    def _started(self, job: Job) -> None:
        with self._lock:
            self._waiting -= 1

    def _run_short(self) -> None:
        """The oldest short job plus later ones with the same temperature, up to max_batch."""
        first = self.short.popleft()
        batch = [first]
        for job in list(self.short):
            if len(batch) < self.max_batch and job.request.temperature == first.request.temperature:
                self.short.remove(job)
                batch.append(job)
        self._run(batch)

    def _step_long(self) -> None:
        """One turn of the long lane: a prefill chunk, or (prefill done) the whole completion,
        yielding to short jobs between its tokens."""
        job = self.long[0]
        if prefill_step(self.llm, job, self.prefill_chunk):
            self.prefill_chunks += 1
            return
        self.long.popleft()
        self._run([job], yielding=True)

    def _run(self, batch: list[Job], yielding: bool = False) -> None:
        for job in batch:
            self._started(job)
        live = [j for j in batch if j.future.set_running_or_notify_cancel()]
        self.cancelled += len(batch) - len(live)
        if not live:
            return
        self.batches_run += 1
        self.largest_batch = max(self.largest_batch, len(live))
        try:
            if len(live) == 1:
                on_text = self._yielding(live[0].on_text) if yielding else live[0].on_text
                results: list[Completion] = [self.llm.complete(live[0].request, on_text)]
            else:
                shared = AllSet([j.request.cancel for j in live])
                results = self.llm.complete_batch([dataclasses.replace(j.request, cancel=shared) for j in live])
        except Exception as exc:  # the handler turns it into a JSON error; the worker lives on
            for job in live:
                job.future.set_exception(exc)
            return
        for job, completion in zip(live, results):
            self.cancelled += job.cancelled
            job.future.set_result(completion)

    def _yielding(self, on_text: OnText | None) -> OnText:
        """The long job's text callback: forwards the text, then runs one waiting short batch."""
        def relay(text: str) -> None:
            if on_text is not None:
                on_text(text)
            self._take(block=False)
            if self.short and not self._closing:
                self.interleaved += 1
                self._run_short()
        return relay
