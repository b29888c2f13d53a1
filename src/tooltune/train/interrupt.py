"""Ctrl-C or SIGTERM during training ends the current step, saves a checkpoint and returns, so
`--resume` (or rerunning the recipe) continues from that very step; a second Ctrl-C aborts at once.

Without this, an interrupt lost everything since the last periodic checkpoint (up to `save_steps`
steps: minutes of CPU time on the embedded model)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def graceful_stop() -> Iterator[threading.Event]:
    """An event set by the first SIGINT/SIGTERM; handlers are installed only in the main thread
    (signals cannot be caught elsewhere) and the previous ones are restored on exit."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        print(f"\n{signal.Signals(signum).name}: stopping after this step and saving a checkpoint "
              "(Ctrl-C again to abort without one)", file=sys.stderr, flush=True)

    # A signal the process was told to ignore (a background job's SIGINT, `nohup`) stays ignored.
    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
