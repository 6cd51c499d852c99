"""Stripe: manual-capture PaymentIntents behind the PaymentProvider port."""

from __future__ import annotations

import asyncio
from typing import Any

import stripe
import structlog

from app.orders import ports
from app.orders.model import Fulfilment
from app.orders.ports import (
    Authorization,
    PaymentEvent,
    PaymentFailed,
    PaymentUnavailable,
    PaymentWebhookInvalid,
)
from app.platform.errors import NotFound

log = structlog.get_logger("omnistock.stripe")

PAYMENT_STATES = {
    "requires_payment_method": ports.AWAITING_PAYMENT,
    "requires_confirmation": ports.AWAITING_PAYMENT,
    "requires_action": ports.AWAITING_PAYMENT,
    "processing": ports.AWAITING_PAYMENT,
    "requires_capture": ports.AUTHORISED,
    "succeeded": ports.CAPTURED,
    "canceled": ports.CANCELED,
}
"""Stripe's PaymentIntent statuses in the words of the PaymentProvider port."""


def payment_state(intent_status: str) -> str:
    return PAYMENT_STATES.get(intent_status, f"stripe:{intent_status}")


class StripePayments:
    name = "stripe"
    requires_authorisation = True
    remote_fulfilments = frozenset(Fulfilment)

    def __init__(self, api_key: str, webhook_secret: str | None, api_base: str | None = None):
        options: dict[str, Any] = {"max_network_retries": 2}
        if api_base:
            options["base_addresses"] = {"api": api_base.rstrip("/")}
        self._client = stripe.StripeClient(api_key, **options)
        self._webhook_secret = webhook_secret

    async def authorize(self, order_id: str, amount_minor: int, currency: str) -> Authorization:
        intent = await self._call(
            self._client.v1.payment_intents.create,
            params={
                "amount": amount_minor,
                "currency": currency.lower(),
                "capture_method": "manual",
                "metadata": {"order_id": order_id},
            },
            options={"idempotency_key": f"authorize:{order_id}"},
        )
        return Authorization(
            self.name, intent.id, intent.client_secret, payment_state(intent.status)
        )

    async def status(self, intent_id: str) -> str:
        intent = await self._call(self._client.v1.payment_intents.retrieve, intent_id)
        return payment_state(str(intent.status))

    async def capture(self, order_id: str, intent_id: str, amount_minor: int) -> str:
        try:
            intent = await self._call(
                self._client.v1.payment_intents.capture,
                intent_id,
                params={"amount_to_capture": amount_minor},
                options={"idempotency_key": f"capture:{order_id}"},
            )
        except PaymentFailed:
            current = await self.status(intent_id)
            if current == ports.CAPTURED:  # an earlier attempt went through
                return current
            raise
        return payment_state(str(intent.status))

    async def cancel(self, order_id: str, intent_id: str) -> str:
        try:
            intent = await self._call(
                self._client.v1.payment_intents.cancel,
                intent_id,
                options={"idempotency_key": f"cancel:{order_id}"},
            )
        except PaymentFailed:
            current = await self.status(intent_id)
            if current == ports.CANCELED:
                return current
            raise
        return payment_state(str(intent.status))

    async def refund(self, refund_id: str, intent_id: str, amount_minor: int) -> str:
        refund = await self._call(
            self._client.v1.refunds.create,
            params={
                "payment_intent": intent_id,
                "amount": amount_minor,
                "metadata": {"refund_id": refund_id},
            },
            options={"idempotency_key": f"refund:{refund_id}"},
        )
        if refund.status in ("succeeded", "pending"):
            return ports.REFUNDED
        raise PaymentFailed(f"the refund was not made ({refund.status})")

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent:
        if not self._webhook_secret:
            raise NotFound("Stripe webhooks are not configured (no STRIPE_WEBHOOK_SECRET)")
        try:
            event = stripe.Webhook.construct_event(payload, signature or "", self._webhook_secret)
        except stripe.SignatureVerificationError:
            raise PaymentWebhookInvalid("the Stripe-Signature does not verify") from None
        data = event.data.object
        intent_id = (
            getattr(data, "id", None)
            if event.type.startswith("payment_intent.")
            else getattr(data, "payment_intent", None)
        )
        return PaymentEvent(id=event.id, type=event.type, intent_id=intent_id)

    async def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking SDK call off the event loop and translate its errors."""
        try:
            return await asyncio.to_thread(method, *args, **kwargs)
        except stripe.CardError as exc:
            raise PaymentFailed(exc.user_message or "the card was declined") from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            log.warning("stripe unreachable", error=str(exc))
            raise PaymentUnavailable("the payment provider is unreachable; retry") from exc
        except stripe.InvalidRequestError as exc:
            raise PaymentFailed(f"the payment provider refused: {exc.user_message or exc}") from exc
        except stripe.StripeError as exc:
            log.warning("stripe error", error=str(exc))
            raise PaymentUnavailable("the payment provider failed; retry") from exc
