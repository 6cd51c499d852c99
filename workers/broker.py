"""The Dramatiq broker: Redis when REDIS_URL is set, otherwise an in-process broker whose
actors run on worker threads inside the API process, so a first run needs nothing installed.

Dramatiq binds actors to the global broker when they are declared, so `workers.actors`
installs it (from the settings) before it imports the actor modules.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO


def build_broker(redis_url: str | None) -> dramatiq.Broker:
    broker: dramatiq.Broker = (
        RedisBroker(url=redis_url)  # type: ignore[no-untyped-call]
        if redis_url
        else StubBroker()
    )
    broker.add_middleware(AsyncIO())
    return broker


_installed: dict[str, dramatiq.Broker] = {}


def install_broker(redis_url: str | None) -> dramatiq.Broker:
    """The process's one broker, made and installed on the first call."""
    if "broker" not in _installed:
        _installed["broker"] = build_broker(redis_url)
        dramatiq.set_broker(_installed["broker"])
    return _installed["broker"]
