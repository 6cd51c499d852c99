"""What the Events context needs from the outside: hearing that events were committed, counting
open streams across processes (`app/integrations/event_bus.py`), and resolving a webhook
endpoint's host and posting to the address that was checked
(`app/integrations/webhook_sender.py`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from app.events.webhook_rules import Target

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


class StreamSlots(Protocol):
    """Who holds how many open streams, across every API process: in Redis when configured,
    else in this process. A slot is a lease that its process keeps renewing, so the slots of
    a process that died free themselves."""

    async def take(self, key: str, slot: str, limit: int) -> tuple[bool, int]:
        """Take `slot` for `key` unless `key` holds `limit` already: (taken, now held)."""
        ...

    def give_back(self, key: str, slot: str) -> None:
        """Give `slot` back, from any thread, without waiting (it may be done later)."""
        ...

    async def keep(self, slots: list[tuple[str, str]]) -> None:
        """Renew the leases of this process's open slots, (key, slot) each."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookPost:
    """One delivery attempt: connect to the first of `addresses` (each already checked
    against the SSRF rules) that accepts a connection, and ask it for `target` with the
    target's own Host header and TLS server name."""

    target: Target
    addresses: tuple[str, ...]
    headers: Mapping[str, str]
    body: bytes
    timeout_seconds: float


class WebhookCallFailed(Exception):
    """No HTTP answer: the name did not resolve, the connection failed, or the time ran out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WebhookTransport(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """Every IP address `host` resolves to (an IP literal is its own); raises
        `WebhookCallFailed` when it does not resolve."""
        ...

    async def post(self, request: WebhookPost) -> int:
        """The HTTP status the receiver answered; raises `WebhookCallFailed` without one."""
        ...
