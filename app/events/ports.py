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
