"""The payment-action outbox: captures, cancels and refunds owed, retried until confirmed."""

from __future__ import annotations

import uuid

import structlog

from app.orders import ports
from app.orders.context import OrderContext
from app.orders.outbox_repository import OutboxRepository
from app.orders.ports import PaymentFailed
from app.orders.repository import OrderRepository
from app.platform.errors import DomainError
from app.platform.tables import utcnow

log = structlog.get_logger("omnistock.orders")


async def _capture(
    ctx: OrderContext, order_id: uuid.UUID, intent_id: str | None, amount_minor: int
) -> None:
    """Capture what was handed over or shipped; Stripe captures once, so the rest of the
    authorisation is released with it."""
    if intent_id is None:
        return
    status = await ctx.payments.capture(str(order_id), intent_id, amount_minor)
    if status != ports.CAPTURED:
        raise PaymentFailed(f"the payment could not be captured ({status})")


# Payment outbox -----------------------------------------------------------------------------
async def run_payment_actions(
    ctx: OrderContext, order_id: uuid.UUID | None, limit: int = 100
) -> int:
    """Carry out owed cancels and refunds; what fails stays pending for the next sweep."""
    async with ctx.uow(readonly=True) as uow:
        ids = await OutboxRepository.of(uow).pending_payment_action_ids(order_id, limit)
    done = 0
    for action_id in ids:
        async with ctx.uow(readonly=True) as uow:
            owed = await OutboxRepository.of(uow).payment_action_snapshot(action_id)
            if owed is None or owed.status != "pending":
                continue
            order = await OrderRepository.of(uow).order(owed.order_id)
            kind, amount, intent_id = owed.action, owed.amount_minor or 0, order.payment_intent_id
        # The provider is called with no transaction open. Its calls are idempotent by the
        # action (cancel:<order>, refund:<action>), so two workers racing here, or a retry
        # after a crash, cannot cancel or refund twice.
        error: str | None = None
        result = "nothing to do"
        try:
            if intent_id is not None and kind == "cancel":
                result = await ctx.payments.cancel(str(order.id), intent_id)
            elif intent_id is not None:
                result = await ctx.payments.refund(str(action_id), intent_id, amount)
        except DomainError as exc:
            error = exc.message
            log.warning("payment action failed", action=kind, order_id=str(order.id), error=error)
        async with ctx.uow() as uow:
            action = await OutboxRepository.of(uow).payment_action(action_id)
            if action is None or action.status != "pending":
                continue  # another worker recorded it meanwhile
            action.attempts += 1
            if error is not None:
                action.last_error = error[:500]
            else:
                action.status, action.done_at = "done", utcnow()
                if intent_id is not None:
                    locked = await OrderRepository.of(uow).order(action.order_id)
                    locked.record_payment_status(result, utcnow())
                done += 1
                log.info("payment action done", action=kind, result=result, order_id=str(order.id))
            await uow.commit()
    return done
