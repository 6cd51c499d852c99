"""Injectable clocks so rate limits and token expiry can be tested without sleeping."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """A source of wall-clock seconds; tests swap in a `ManualClock`."""

    def time(self) -> float: ...


class SystemClock:
    """The real clock, used when a person runs the emulator."""

    def time(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to, so bucket refills are deterministic."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward (never backward) and return the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._now += seconds
            return self._now


def iso_utc(epoch_seconds: float, *, zulu: bool = True) -> str:
    """GraphQL DateTime uses `Z`; REST webhook payloads use `+00:00`."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC).replace(microsecond=0)
    text = moment.isoformat()
    return text.replace("+00:00", "Z") if zulu else text


def iso_utc_precise(epoch_seconds: float) -> str:
    """`X-Shopify-Triggered-At` carries sub-second precision."""
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")
