"""The Dramatiq broker: Redis when REDIS_URL is set, otherwise an in-process broker whose
actors run on worker threads inside the API process, so a first run needs nothing installed.

Importing this module installs the broker globally, as Dramatiq's CLI expects
(`dramatiq workers.actors`)."""

from __future__ import annotations

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from app.config import Settings


def build_broker(redis_url: str | None) -> dramatiq.Broker:
    broker: dramatiq.Broker = (
        RedisBroker(url=redis_url)  # type: ignore[no-untyped-call]
        if redis_url
        else StubBroker()
    )
    broker.add_middleware(AsyncIO())
    return broker


def ping_broker(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()


settings = Settings.from_env()
broker = build_broker(settings.redis_url)
dramatiq.set_broker(broker)
