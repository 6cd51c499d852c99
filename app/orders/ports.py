"""What orders need from a payment provider and a message sender."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import structlog

from app.platform.errors import DomainError

log = structlog.get_logger("omnistock.notifications")


AUTHORISED = "requires_capture"


CAPTURED = "succeeded"


CANCELED = "canceled"


AWAITING_PAYMENT = "requires_payment_method"


NOT_REQUIRED = "not_required"  # offline provider: paid at the counter


class PaymentFailed(DomainError):
    """The provider refused (declined card, expired authorisation)."""

    code = "payment_failed"


class PaymentUnavailable(DomainError):
    """The provider could not be reached; nothing was charged, the client may retry."""

    code = "payment_unavailable"


@dataclass(frozen=True, slots=True)
class Authorization:
    provider: str
    intent_id: str | None
    client_secret: str | None
    status: str


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    """A verified provider webhook: its id (for deduplication), type and payment intent."""

    id: str
    type: str
    intent_id: str | None


class PaymentProvider(Protocol):
    name: str
    requires_authorisation: bool
    """False when orders are paid at the counter: they are confirmed as they are placed."""

    async def authorize(self, order_id: str, amount_minor: int, currency: str) -> Authorization:
        """Open a manual-capture authorisation; the customer confirms it client-side."""
        ...

    async def status(self, intent_id: str) -> str: ...

    async def capture(self, order_id: str, intent_id: str) -> str: ...

    async def cancel(self, order_id: str, intent_id: str) -> str: ...

    async def refund(self, refund_id: str, intent_id: str, amount_minor: int) -> str: ...

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent: ...


class Sender(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...
