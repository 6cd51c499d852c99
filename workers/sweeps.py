"""When each periodic job last completed: kept in Redis for every API replica to read (readiness),
or in this process's memory when the API runs the workers itself."""

from __future__ import annotations

import time
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

import dramatiq
import redis

SWEEPS_KEY = "omnistock:sweeps"

_in_this_process: dict[str, float] = {}


class SweepRecorder(dramatiq.Middleware):
    def __init__(self, redis_url: str | None, periodic: Iterable[str]) -> None:
        self._redis = redis.Redis.from_url(redis_url) if redis_url else None
        self._periodic = frozenset(periodic)

    def after_process_message(
        self, broker: dramatiq.Broker, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        if exception is not None or message.actor_name not in self._periodic:
            return
        now = time.time()
        if self._redis is None:
            _in_this_process[message.actor_name] = now
            return
        with suppress(redis.RedisError):  # readiness may go stale; the job itself is done
            self._redis.hset(SWEEPS_KEY, message.actor_name, now)


def sweeps_in_this_process() -> dict[str, float]:
    return dict(_in_this_process)
