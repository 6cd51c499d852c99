"""What the Events context needs from the outside."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Wake = Callable[[int | None], None]
"""Told that events up to a `seq` (None: maybe some) have committed somewhere."""


class WakeUps(Protocol):
    """How this process hears that events were committed, here or in another process: Redis
    pub/sub between processes (`app/integrations/event_bus.py`), memory within one
    (`app/events/wakeups.py`). Only a hint: the stream's tailer reads the log anyway."""

    async def listen(self, wake: Wake) -> None:
        """Call `wake` on every commit told, until cancelled; a lost connection is retried,
        not raised."""
        ...


class StreamSlots(Protocol):
    """Who holds how many open streams, across every API process: in Redis when configured,
    else in this process. A slot is a lease that its process keeps renewing, so the slots of
    a process that died free themselves."""

    async def take(self, key: str, slot: str, limit: int) -> tuple[bool, int]:
        """Take `slot` for `key` unless `key` holds `limit` already: (taken, now held)."""
        ...

    def give_back(self, key: str, slot: str) -> None:
        """Give `slot` back, from any thread, without waiting (it may be done later)."""
        ...

    async def keep(self, slots: list[tuple[str, str]]) -> None:
        """Renew the leases of this process's open slots, (key, slot) each."""
        ...
