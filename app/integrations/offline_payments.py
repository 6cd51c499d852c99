"""No payment provider: orders are paid at the counter, or remote orders are refused."""

from __future__ import annotations

from app.orders import ports
from app.orders.model import Fulfilment
from app.orders.ports import Authorization, PaymentEvent
from app.platform.errors import NotFound


class OfflinePayments:
    """No Stripe key configured: nothing to authorise. Tills and admins take payment in
    person; web and app orders are refused unless `at_counter` (PAYMENTS=at_counter) lets
    them through for pickup, to be paid when collected."""

    name = "offline"
    requires_authorisation = False

    def __init__(self, *, at_counter: bool = False) -> None:
        self.remote_fulfilments = frozenset({Fulfilment.PICKUP}) if at_counter else frozenset()

    async def authorize(self, order_id: str, amount_minor: int, currency: str) -> Authorization:
        return Authorization(self.name, None, None, ports.NOT_REQUIRED)

    async def status(self, intent_id: str) -> str:
        return ports.NOT_REQUIRED

    async def capture(self, order_id: str, intent_id: str, amount_minor: int) -> str:
        return ports.NOT_REQUIRED

    async def cancel(self, order_id: str, intent_id: str) -> str:
        return ports.NOT_REQUIRED

    async def refund(self, refund_id: str, intent_id: str, amount_minor: int) -> str:
        return ports.NOT_REQUIRED

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent:
        raise NotFound("Stripe webhooks are not configured (no STRIPE_API_KEY)")
