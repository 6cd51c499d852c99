"""What the Events context needs from the outside: resolving a webhook endpoint's host and
posting to the address that was checked. `app/integrations/webhook_sender.py` implements it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from app.events.webhook_rules import Target


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
