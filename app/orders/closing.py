"""Cancel, expire and release an order."""

from __future__ import annotations

import uuid
from datetime import datetime

from app.inventory.changes import Actor, Change
from app.inventory.ledger import Ledger
from app.inventory.rules import LevelKey
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import OrderStatus, is_expired
from app.orders.outbox_repository import OutboxRepository
from app.orders.payment_actions import run_payment_actions
from app.orders.repository import OrderRepository
from app.orders.tables import Order
from app.orders.transitions import _record_transition
from app.orders.views import OrderView, get_order
from app.platform.access import Channel, Permission, Principal, Role
from app.platform.errors import Forbidden, NotFound
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork


async def cancel(ctx: OrderContext, principal: Principal, order_id: uuid.UUID) -> OrderView:
    async with ctx.uow(readonly=True) as uow:
        order = await OrderRepository.of(uow).order(order_id)
        if principal.role in (Role.STOREFRONT, Role.MOBILE):
            principal.require(Permission.PLACE_ORDERS)
            if not principal.may_see_order(order.channel):
                raise NotFound(f"order {order_id} not found")
        elif principal.role is not Role.ADMIN:
            raise Forbidden("only the ordering channel or an admin may cancel an order")
    await _close(ctx, order_id, "cancel", principal, reason="cancelled")
    await run_payment_actions(ctx, order_id)
    return await get_order(ctx, principal, order_id)


async def _close(
    ctx: OrderContext, order_id: uuid.UUID, action: str, principal: Principal, reason: str
) -> None:
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order(order_id, for_update=True)
        await _release_all(uow, order, action, principal.channel.value, principal.actor, reason)
        await uow.commit()


async def _release_all(
    uow: UnitOfWork, order: Order, action: str, channel: str, actor: str, reason: str
) -> None:
    """Cancel or expire: give the reserved units back and owe the provider a cancel."""
    if action == "expire":
        order.expire(utcnow())
    else:
        order.cancel(utcnow())
    _record_transition(uow, order, channel, actor, reason)
    allocations = await OrderRepository.of(uow).allocations(order.id)
    await Ledger.of(uow).apply(
        [
            Change.release(
                LevelKey(a.location_id, a.sku_id),
                a.quantity,
                Actor(channel, actor),
                sku=a.sku,
                location=a.location,
                reference=f"order:{order.id}",
            )
            for a in allocations
        ]
    )
    if order.payment_intent_id:
        OutboxRepository.of(uow).add_payment_action(order_id=order.id, action="cancel")
    customer = await CustomerRepository.of(uow).customer(order.customer_id)
    if action == "expire":
        OrderRepository.of(uow).add_notification(
            order_id=order.id,
            kind="expired",
            to=customer.email,
            subject=f"Order {order.number} has expired",
            body=f"Your order {order.number} was not {_missed(order)} in time and has been "
            "released. Nothing has been charged.",
        )


# Expiry -------------------------------------------------------------------------------------
async def expire_due_orders(
    ctx: OrderContext, now: datetime | None = None, batch: int = 200
) -> int:
    """Release unpaid and uncollected orders. Safe to run in several workers at once: each
    order is taken under a row lock that others skip, and re-checked under it."""
    now = now or utcnow()
    system = Principal("system", "expiry", Role.ADMIN)
    async with ctx.uow(readonly=True) as uow:
        candidates = await OrderRepository.of(uow).expiry_candidates(
            now - ctx.payment_timeout, now - ctx.pickup_hold, batch
        )
    expired = 0
    for order_id in candidates:
        async with ctx.uow() as uow:
            try:
                order = await OrderRepository.of(uow).order(
                    order_id, for_update=True, skip_locked=True
                )
            except NotFound:
                continue  # another worker holds it, or it is gone
            if not is_expired(
                order.status,
                order.fulfilment_type,
                order.created_at,
                order.confirmed_at,
                order.ready_at,
                now,
                ctx.payment_timeout,
                ctx.pickup_hold,
            ):
                continue
            await _release_all(
                uow,
                order,
                "expire",
                Channel.SYSTEM.value,
                system.actor,
                "expired: not paid in time"
                if order.status == OrderStatus.PENDING_PAYMENT
                else "expired: not collected",
            )
            await uow.commit()
            expired += 1
    if expired:
        await run_payment_actions(ctx, None)
    return expired


def _missed(order: Order) -> str:
    return "paid" if order.confirmed_at is None else "collected"
