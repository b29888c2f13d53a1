"""One worker thread between the HTTP handlers and the model: a bounded queue, drained in batches.

Handlers never touch the model. They enqueue a job and await its future; the worker takes what
is waiting (up to `max_batch`, same temperature so one `generate` call can serve them), and runs
it through the backend's `complete_batch` — or, for a lone request, `complete` with live text so
streaming clients see tokens as they come. Text reaches a handler through a callback that only
schedules work on the event loop, so a slow client can never hold the worker up. A full queue is
refused at once (429) instead of letting waits grow without bound.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from tooltune.llm.base import LLM, Completion, GenerationRequest

OnText = Callable[[str], None]


class QueueFull(Exception):
    pass


@dataclass
class Job:
    request: GenerationRequest
    on_text: OnText | None = None
    future: Future = field(default_factory=Future)


class BatchEngine:
    def __init__(self, llm: LLM, max_batch: int = 8, max_queue: int = 64, gather_seconds: float = 0.005) -> None:
        self.llm, self.max_batch, self.gather_seconds = llm, max_batch, gather_seconds
        self.jobs: queue.Queue[Job | None] = queue.Queue(maxsize=max_queue)
        self.batches_run = 0
        self.largest_batch = 0
        self._worker = threading.Thread(target=self._loop, name="tooltune-batcher", daemon=True)
        self._worker.start()

    def submit(self, request: GenerationRequest, on_text: OnText | None = None) -> Future:
        job = Job(request, on_text)
        try:
            self.jobs.put_nowait(job)
        except queue.Full:
            raise QueueFull from None
        return job.future

    def close(self) -> None:
        self.jobs.put(None)
        self._worker.join(timeout=5)

    def _loop(self) -> None:
        pending: list[Job] = []
        while True:
            first = pending.pop(0) if pending else self.jobs.get()
            if first is None:
                return
            batch, pending = self._gather(first, pending)
            self._run(batch)

    def _gather(self, first: Job, pending: list[Job]) -> tuple[list[Job], list[Job]]:
        """`first` plus whatever else is queued with the same temperature, up to max_batch; the
        rest waits for the next round in arrival order."""
        waiting = list(pending)
        try:
            waiting.append(self.jobs.get(timeout=self.gather_seconds))
            while len(waiting) < 4 * self.max_batch:
                waiting.append(self.jobs.get_nowait())
        except queue.Empty:
            pass
        batch, rest = [first], []
        for job in waiting:
            fits = job is not None and len(batch) < self.max_batch and job.request.temperature == first.request.temperature
            (batch if fits else rest).append(job)
        return batch, rest

    def _run(self, batch: list[Job]) -> None:
        live = [j for j in batch if j.future.set_running_or_notify_cancel()]
        if not live:
            return
        self.batches_run += 1
        self.largest_batch = max(self.largest_batch, len(live))
        try:
            if len(live) == 1:
                results: list[Completion] = [self.llm.complete(live[0].request, live[0].on_text)]
            else:
                results = self.llm.complete_batch([j.request for j in live])
        except Exception as exc:  # the handler turns it into a JSON error; the worker lives on
            for job in live:
                job.future.set_exception(exc)
            return
        for job, completion in zip(live, results):
            job.future.set_result(completion)
