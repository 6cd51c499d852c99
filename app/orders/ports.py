"""What orders need from a payment provider and a message sender."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.orders.model import Fulfilment
from app.platform.errors import DomainError

# The states of a payment as orders see them, whatever the provider calls them (the provider's
# adapter in app/integrations translates; migration 0005 translated the stored ones).
AWAITING_PAYMENT = "awaiting_payment"  # the customer has not confirmed yet
AUTHORISED = "authorised"  # the amount is held, to be captured at handover or shipping
CAPTURED = "captured"
CANCELED = "canceled"  # the authorisation was released
REFUNDED = "refunded"
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
    remote_fulfilments: frozenset[Fulfilment]
    """What web and app orders this provider can take payment for: every kind with a real
    provider, pickup only at the counter, none when nothing is configured."""

    async def authorize(self, order_id: str, amount_minor: int, currency: str) -> Authorization:
        """Open a manual-capture authorisation; the customer confirms it client-side."""
        ...

    async def status(self, intent_id: str) -> str: ...

    async def capture(self, order_id: str, intent_id: str, amount_minor: int) -> str:
        """Capture `amount_minor` of the authorisation (what was handed over or shipped; at
        most the amount authorised). A provider captures once: the rest is released."""
        ...

    async def cancel(self, order_id: str, intent_id: str) -> str: ...

    async def refund(self, refund_id: str, intent_id: str, amount_minor: int) -> str: ...

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent: ...


class SendFailed(Exception):
    """The message could not be handed over (the mail server refused or is unreachable)."""


class Sender(Protocol):
    def send(self, to: str, subject: str, body: str) -> None:
        """Hand the message over; raise `SendFailed` when that did not happen."""
        ...


class PaymentWebhookInvalid(Exception):
    """A provider webhook whose signature does not verify (HTTP 401)."""
