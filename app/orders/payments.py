"""Payment events and the payment-action outbox."""

from __future__ import annotations

from app.orders import ports
from app.orders.closing import _release_all
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import OrderStatus
from app.orders.outbox_repository import OutboxRepository
from app.orders.ports import PaymentEvent
from app.orders.repository import OrderRepository
from app.orders.transitions import _notify_confirmed, _record_transition
from app.platform.access import Channel
from app.platform.tables import utcnow


# Payment webhooks ---------------------------------------------------------------------------
async def apply_payment_event(ctx: OrderContext, event: PaymentEvent) -> str:
    """Confirm or release the order behind a provider event. Events may come twice or out of
    order, so the PaymentIntent's current status decides, not the event's type."""
    if event.intent_id is None:
        return "ignored"
    status = await ctx.payments.status(event.intent_id)
    async with ctx.uow() as uow:
        if not await OutboxRepository.of(uow).mark_webhook_processed(
            ctx.payments.name, event.id, event.type
        ):
            return "duplicate"
        order = await OrderRepository.of(uow).order_by_intent(event.intent_id)
        if order is None:
            await uow.commit()
            return "unknown payment"
        outcome = "no change"
        order.record_payment_status(status, utcnow())
        if order.status == OrderStatus.PENDING_PAYMENT:
            if status == ports.AUTHORISED:
                order.confirm(utcnow())
                _record_transition(uow, order, Channel.SYSTEM.value, "stripe", "payment authorised")
                _notify_confirmed(
                    uow, order, await CustomerRepository.of(uow).customer(order.customer_id)
                )
                outcome = "confirmed"
            elif status == ports.CANCELED or event.type == "payment_intent.payment_failed":
                await _release_all(
                    uow,
                    order,
                    "cancel",
                    Channel.SYSTEM.value,
                    "stripe",
                    "payment failed or was cancelled",
                )
                outcome = "released"
        await uow.commit()
        return outcome
