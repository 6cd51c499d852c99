"""Shopify's leaky bucket as last seen, per shop."""

from __future__ import annotations

import threading
from typing import Any


# ---- the leaky bucket as we see it -------------------------------------------------------
class BucketView:
    """Our estimate of one shop's bucket: the last throttleStatus, refilled by the clock.

    `reserve` takes the points of a call about to be made, so threads sharing a shop queue
    behind each other instead of all spending the same points."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.maximum: float | None = None
        self.available = 0.0
        self.restore_rate = 0.0
        self._observed_at = 0.0

    def reserve(self, cost: float, now: float) -> float:
        """Seconds to wait before a call of `cost` points may go."""
        with self._lock:
            if self.maximum is None or self.restore_rate <= 0:
                return 0.0
            projected = min(
                self.maximum, self.available + (now - self._observed_at) * self.restore_rate
            )
            cost = min(cost, self.maximum)
            wait = 0.0 if projected >= cost else (cost - projected) / self.restore_rate
            self.available = projected - cost
            self._observed_at = now
            return wait

    def observe(self, status: dict[str, Any], now: float) -> None:
        try:
            maximum = float(status["maximumAvailable"])
            available = float(status["currentlyAvailable"])
            rate = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            self.maximum, self.available, self.restore_rate = maximum, available, rate
            self._observed_at = now


_buckets: dict[str, BucketView] = {}

_buckets_lock = threading.Lock()


def bucket_for(site: str, shop_domain: str) -> BucketView:
    key = f"{site}#{shop_domain}"
    with _buckets_lock:
        return _buckets.setdefault(key, BucketView())


def forget_buckets() -> None:
    with _buckets_lock:
        _buckets.clear()


def _is_throttled(errors: Any) -> bool:
    return isinstance(errors, list) and any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED"
        for e in errors
    )


def _throttle_wait(cost_info: dict[str, Any], cost: float) -> float:
    """(requested - currentlyAvailable) / restoreRate, as Shopify's bucket implies."""
    status = cost_info.get("throttleStatus") or {}
    try:
        requested = float(cost_info.get("requestedQueryCost") or cost)
        available = float(status["currentlyAvailable"])
        rate = float(status["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return 1.0
    if rate <= 0:
        return 1.0
    return max(0.0, (requested - available) / rate)
