"""Wake-ups within one process, for a deployment without Redis (the API runs the workers
itself then, so every commit happens in this process)."""

from __future__ import annotations

import asyncio
import threading

from app.events.ports import Wake


class LocalWakeUps:
    """Both ends in memory: `publish` is the event log's signal (`build_context`'s
    `event_signal`), `listen` is what the stream's tailer waits on. `publish` may be called
    from any thread (in-process workers run their own event loops); each `wake` must be safe
    from any thread too (`StreamHub.wake` is)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Wake] = []

    def publish(self, seq: int | None) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for wake in listeners:
            wake(seq)

    async def listen(self, wake: Wake) -> None:
        with self._lock:
            self._listeners.append(wake)
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            with self._lock:
                self._listeners.remove(wake)


IN_THIS_PROCESS = LocalWakeUps()
"""The process's one in-memory channel: what the API's tailer and every context built in
this process without Redis share."""
