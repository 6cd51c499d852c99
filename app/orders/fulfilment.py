"""Ready for pickup, hand over and ship."""

from __future__ import annotations

import uuid

from app.inventory.changes import Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey
from app.inventory.tables import Location
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import (
    InvalidPickupCode,
    hash_pickup_code,
    new_pickup_code,
    next_status,
)
from app.orders.payment_actions import _capture
from app.orders.repository import OrderRepository
from app.orders.tables import Order
from app.orders.transitions import _record_transition
from app.orders.views import OrderView, _view
from app.platform.access import Permission, Principal, Role
from app.platform.errors import BusinessRuleViolation, Forbidden
from app.platform.secrets import seal
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork


# Staff actions ------------------------------------------------------------------------------
async def mark_ready(ctx: OrderContext, principal: Principal, order_id: uuid.UUID) -> OrderView:
    """The order is picked and waiting at the counter; the customer gets a pickup code."""
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order(order_id, for_update=True)
        location = await _pickup_location(uow, order)
        principal.require(Permission.WORK_PICKUPS, at_location=location.code)
        code = new_pickup_code()
        order.mark_ready(hash_pickup_code(code), utcnow())
        _record_transition(
            uow,
            order,
            principal.channel.value,
            principal.actor,
            f"ready for pickup at {location.name}",
            location.id,
        )
        customer = await CustomerRepository.of(uow).customer(order.customer_id)
        OrderRepository.of(uow).add_notification(
            order_id=order.id,
            kind="ready_for_pickup",
            to=customer.email,
            subject=f"Order {order.number} is ready for pickup",
            body=seal(
                ctx.secrets,
                f"Your order {order.number} is ready at {location.name}. "
                f"Show this pickup code at the counter: {code}",
            ),
        )
        view = await _view(uow, order, False)
        await uow.commit()
    return view


async def hand_over(
    ctx: OrderContext, principal: Principal, order_id: uuid.UUID, pickup_code: str
) -> OrderView:
    """The customer collects: check the code, capture the payment, take the units."""
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order(order_id, for_update=True)
        location = await _pickup_location(uow, order)
        if principal.role is not Role.POS:
            raise Forbidden("handover is done by a POS key of the pickup store")
        principal.require(Permission.WORK_PICKUPS, at_location=location.code)
        if not order.check_pickup_code(pickup_code, utcnow()):
            OrderRepository.of(uow).add_event(
                event="wrong_pickup_code",
                channel=principal.channel.value,
                actor=principal.actor,
                order_id=order.id,
                customer_id=order.customer_id,
                location_id=location.id,
                summary="a wrong pickup code was entered",
            )
            await uow.commit()
            raise InvalidPickupCode("the pickup code does not match this order")
        intent_id, summary = order.payment_intent_id, f"picked up at {location.name}"
    await _capture(ctx, order_id, intent_id)
    return await _take_units(ctx, principal, order_id, "pickup", summary)


async def ship(ctx: OrderContext, principal: Principal, order_id: uuid.UUID) -> OrderView:
    async with ctx.uow(readonly=True) as uow:
        order = await OrderRepository.of(uow).order(order_id)
        allocations = await OrderRepository.of(uow).allocations(order_id)
        locations = {a.location for a in allocations}
        principal.require(
            Permission.WORK_PICKUPS, at_location=locations.pop() if len(locations) == 1 else None
        )
        next_status("ship", order.status, order.fulfilment_type)
        intent_id = order.payment_intent_id
    await _capture(ctx, order_id, intent_id)
    return await _take_units(ctx, principal, order_id, "ship", "shipped")


async def _take_units(
    ctx: OrderContext, principal: Principal, order_id: uuid.UUID, action: str, summary: str
) -> OrderView:
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order(order_id, for_update=True)
        if action == "pickup":
            order.hand_over(utcnow())
        else:
            order.ship(utcnow())
        _record_transition(
            uow,
            order,
            principal.channel.value,
            principal.actor,
            summary,
            order.pickup_location_id,
        )
        allocations = await OrderRepository.of(uow).allocations(order_id)
        await Ledger.of(uow).apply(
            [
                Change.hand_over(
                    LevelKey(a.location_id, a.sku_id),
                    a.quantity,
                    principal,
                    sku=a.sku,
                    location=a.location,
                    reference=f"order:{order_id}",
                )
                for a in allocations
            ]
        )
        view = await _view(uow, order, False)
        await uow.commit()
    return view


async def _pickup_location(uow: UnitOfWork, order: Order) -> Location:
    if order.pickup_location_id is None:
        raise BusinessRuleViolation("this order is shipped, not picked up")
    return (await CatalogueRepository.of(uow).locations_by_id([order.pickup_location_id]))[
        order.pickup_location_id
    ]
