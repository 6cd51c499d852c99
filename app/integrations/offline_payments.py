"""Payment at the counter: no provider."""

from __future__ import annotations

from app.orders import ports
from app.orders.ports import Authorization, PaymentEvent
from app.platform.errors import NotFound


class OfflinePayments:
    """No Stripe key configured: orders are paid at the counter, nothing to authorise."""

    name = "offline"
    requires_authorisation = False

    async def authorize(self, order_id: str, amount_minor: int, currency: str) -> Authorization:
        return Authorization(self.name, None, None, ports.NOT_REQUIRED)

    async def status(self, intent_id: str) -> str:
        return ports.NOT_REQUIRED

    async def capture(self, order_id: str, intent_id: str) -> str:
        return ports.NOT_REQUIRED

    async def cancel(self, order_id: str, intent_id: str) -> str:
        return ports.NOT_REQUIRED

    async def refund(self, refund_id: str, intent_id: str, amount_minor: int) -> str:
        return ports.NOT_REQUIRED

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent:
        raise NotFound("Stripe webhooks are not configured (no STRIPE_API_KEY)")
