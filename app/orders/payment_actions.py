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


async def _capture(ctx: OrderContext, order_id: uuid.UUID, intent_id: str | None) -> None:
    if intent_id is None:
        return
    status = await ctx.payments.capture(str(order_id), intent_id)
    if status != ports.CAPTURED:
        raise PaymentFailed(f"the payment could not be captured ({status})")


# Payment outbox -----------------------------------------------------------------------------
async def run_payment_actions(
    ctx: OrderContext, order_id: uuid.UUID | None, limit: int = 100
) -> int:
    """Carry out owed cancels and refunds; what fails stays pending for the next sweep."""
    async with ctx.uow() as uow:
        ids = await OutboxRepository.of(uow).pending_payment_action_ids(order_id, limit)
    done = 0
    for action_id in ids:
        async with ctx.uow() as uow:
            action = await OutboxRepository.of(uow).payment_action(action_id)
            if action is None or action.status != "pending":
                continue
            order = await OrderRepository.of(uow).order(action.order_id)
            intent_id = order.payment_intent_id
            try:
                if intent_id is None:
                    result = "nothing to do"
                elif action.action == "cancel":
                    result = await ctx.payments.cancel(str(order.id), intent_id)
                    order.payment_status = result
                else:
                    result = await ctx.payments.refund(
                        str(action.id), intent_id, action.amount_minor or 0
                    )
                    order.payment_status = "refunded"
            except DomainError as exc:
                action.attempts += 1
                action.last_error = exc.message[:500]
                log.warning(
                    "payment action failed",
                    action=action.action,
                    order_id=str(order.id),
                    error=exc.message,
                )
            else:
                action.status, action.done_at = "done", utcnow()
                action.attempts += 1
                done += 1
                log.info(
                    "payment action done",
                    action=action.action,
                    result=result,
                    order_id=str(order.id),
                )
            await uow.commit()
    return done
