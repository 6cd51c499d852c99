"""The per-shop cost-based leaky bucket of the GraphQL Admin API."""

from __future__ import annotations

import math
from dataclasses import dataclass

from shopify_emulator.clock import Clock

STANDARD_MAXIMUM_AVAILABLE = 2000.0
STANDARD_RESTORE_RATE = 100.0


@dataclass(frozen=True)
class ThrottleStatus:
    maximum_available: float
    currently_available: int
    restore_rate: float

    def to_json(self) -> dict[str, float | int]:
        """Shopify sends the two rates as floats and the current level as an int."""
        return {
            "maximumAvailable": float(self.maximum_available),
            "currentlyAvailable": int(self.currently_available),
            "restoreRate": float(self.restore_rate),
        }


class LeakyBucket:
    """Points drain by each request's cost and refill continuously at `restore_rate`.

    Not locked on its own: the emulator's single state lock guards every call.
    """

    def __init__(
        self,
        clock: Clock,
        maximum_available: float = STANDARD_MAXIMUM_AVAILABLE,
        restore_rate: float = STANDARD_RESTORE_RATE,
    ) -> None:
        self._clock = clock
        self.maximum_available = float(maximum_available)
        self.restore_rate = float(restore_rate)
        self._level = self.maximum_available
        self._updated_at = clock.time()

    def _refill(self) -> None:
        now = self._clock.time()
        elapsed = max(0.0, now - self._updated_at)
        self._level = min(self.maximum_available, self._level + elapsed * self.restore_rate)
        self._updated_at = now

    def available(self) -> float:
        self._refill()
        return self._level

    def try_take(self, cost: int) -> bool:
        """Take `cost` points if the bucket holds that many; Shopify checks the requested cost."""
        self._refill()
        if self._level < cost:
            return False
        self._level -= cost
        return True

    def refund(self, points: int) -> None:
        """Give back the difference between requested and actual cost."""
        self._refill()
        self._level = min(self.maximum_available, self._level + max(0, points))

    def seconds_until(self, cost: int) -> float:
        """How long a client should wait before `cost` points are there."""
        missing = cost - self.available()
        if missing <= 0:
            return 0.0
        if self.restore_rate <= 0:
            return math.inf
        return missing / self.restore_rate

    def configure(
        self,
        *,
        maximum_available: float | None = None,
        restore_rate: float | None = None,
        currently_available: float | None = None,
    ) -> None:
        self._refill()
        if maximum_available is not None:
            if maximum_available <= 0:
                raise ValueError("maximum_available must be positive")
            self.maximum_available = float(maximum_available)
            self._level = min(self._level, self.maximum_available)
        if restore_rate is not None:
            if restore_rate < 0:
                raise ValueError("restore_rate must not be negative")
            self.restore_rate = float(restore_rate)
        if currently_available is not None:
            self._level = max(0.0, min(float(currently_available), self.maximum_available))

    def status(self) -> ThrottleStatus:
        return ThrottleStatus(
            maximum_available=self.maximum_available,
            currently_available=math.floor(self.available()),
            restore_rate=self.restore_rate,
        )
