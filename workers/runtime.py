"""The worker process's composition root: the settings, read once, and a context per event loop.

Actors ask `current().context()` for what their use case needs; an async engine cannot cross
event loops, so each loop gets its own database pool.
"""

from __future__ import annotations

import asyncio

from app.bootstrap import AppContext, build_context, event_signal
from app.config import Settings
from app.platform.database import Database


class WorkerRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._contexts: dict[int, AppContext] = {}

    def context(self) -> AppContext:
        loop_id = id(asyncio.get_running_loop())
        ctx = self._contexts.get(loop_id)
        if ctx is None:
            db = Database(self.settings.database_url, pool_size=5)
            ctx = self._contexts[loop_id] = build_context(
                self.settings, db, event_signal=event_signal(self.settings)
            )
        return ctx


_runtimes: dict[str, WorkerRuntime] = {}


def current() -> WorkerRuntime:
    """The process's runtime, made from the environment on first use."""
    if "current" not in _runtimes:
        _runtimes["current"] = WorkerRuntime(Settings.from_env())
    return _runtimes["current"]
