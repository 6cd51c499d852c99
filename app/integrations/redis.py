"""Redis reachability, for readiness."""

from __future__ import annotations

import redis


def ping_redis(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()


def last_sweeps(redis_url: str, key: str) -> dict[str, float]:
    """Unix times of each periodic job's last completed run, as the workers recorded them."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
    try:
        raw: dict[bytes, bytes] = client.hgetall(key)  # type: ignore[assignment]
    finally:
        client.close()
    return {name.decode(): float(value) for name, value in raw.items()}
