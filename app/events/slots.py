"""Open-stream slots counted in this process: without Redis, or while it is away."""

from __future__ import annotations

import threading
from collections import Counter


class LocalSlots:
    """`app/events/ports.py: StreamSlots` in memory: what one process holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # a slot may be given back from a finaliser's thread
        self._held: Counter[str] = Counter()
        self._slots: set[tuple[str, str]] = set()

    async def take(self, key: str, slot: str, limit: int) -> tuple[bool, int]:
        with self._lock:
            return self.take_now(key, slot, limit)

    def take_now(self, key: str, slot: str, limit: int) -> tuple[bool, int]:
        if self._held[key] >= limit:
            return False, self._held[key]
        self._held[key] += 1
        self._slots.add((key, slot))
        return True, self._held[key]

    def give_back(self, key: str, slot: str) -> None:
        with self._lock:
            self.give_back_now(key, slot)

    def give_back_now(self, key: str, slot: str) -> bool:
        """False when this process does not hold `slot`."""
        if (key, slot) not in self._slots:
            return False
        self._slots.discard((key, slot))
        self._held[key] -= 1
        if self._held[key] <= 0:
            del self._held[key]
        return True

    def holds(self, key: str, slot: str) -> bool:
        return (key, slot) in self._slots

    async def keep(self, slots: list[tuple[str, str]]) -> None:
        return None  # nothing expires in memory
