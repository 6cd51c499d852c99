"""What the webhook use cases are given: the platform context plus how deliveries are made."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from app.events.ports import WebhookTransport
from app.platform.context import Context
from app.platform.secrets import Secrets


@dataclass(frozen=True, kw_only=True)
class WebhookConfig:
    """Built from the settings by app/bootstrap.py."""

    transport: WebhookTransport
    secrets: Secrets
    allow_private: bool = False
    """WEBHOOK_ALLOW_PRIVATE: loopback and private targets allowed (local testing only)."""
    timeout_seconds: float = 10.0
    retry_window: timedelta = timedelta(hours=24)
    """How long one event is retried from its first failure before the endpoint is disabled."""
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0
    batch: int = 100
    """Events read at a time for one endpoint."""
    max_run_seconds: float = 30.0
    """One worker run delivers for at most this long, then leaves the rest to the next tick."""
    draw: Callable[[], float] = random.random
    """The jitter's uniform draw in [0, 1)."""

    @property
    def lease(self) -> timedelta:
        """A worker's hold on an endpoint: longer than one attempt, renewed at each one."""
        return timedelta(seconds=self.timeout_seconds + 10.0)


@dataclass(frozen=True, kw_only=True)
class WebhookContext(Context):
    webhooks: WebhookConfig
