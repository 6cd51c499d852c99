"""Redis reachability, for readiness."""

from __future__ import annotations

import redis


def ping_redis(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
