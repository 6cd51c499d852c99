"""Ready for pickup, hand over (in part) and ship."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from app.inventory.changes import Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey
from app.inventory.tables import Location
from app.orders.context import OrderContext
from app.orders.line_work import work_lines
from app.orders.model import (
    InvalidPickupCode,
    LineState,
    Rejection,
    next_status,
    plan_handover,
)
from app.orders.payment_actions import _capture
from app.orders.repository import LineRow, OrderRepository
from app.orders.tables import Order
from app.orders.transitions import _record_transition
from app.orders.views import OrderView, _view
from app.platform.access import Permission, Principal
from app.platform.errors import BusinessRuleViolation, Forbidden
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork


# Staff actions ------------------------------------------------------------------------------
async def mark_ready(
    ctx: OrderContext,
    principal: Principal,
    order_id: uuid.UUID,
    lines: Sequence[tuple[str, int]] | None = None,
    rejected: Sequence[Rejection] = (),
) -> OrderView:
    """Picked (all of it, or `lines`), less what the store `rejected`; once every unit left
    is ready the customer gets a pickup code (`line_work`)."""
    return await work_lines(ctx, principal, order_id, lines, rejected)


async def hand_over(
    ctx: OrderContext,
    principal: Principal,
    order_id: uuid.UUID,
    pickup_code: str,
    lines: Sequence[tuple[str, int]] | None = None,
) -> OrderView:
    """The customer collects (every ready unit, or `lines`): check the code, capture what is
    handed over, take those units. The rest is released and never charged: a provider
    captures an authorisation once, so there is no second handover."""
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order(order_id, for_update=True)
        location = await _pickup_location(uow, order)
        if not principal.is_store_bound:
            raise Forbidden("handover is done by the staff or a POS key of the pickup store")
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
        rows = await OrderRepository.of(uow).lines(order_id)
        handed = plan_handover(_states(rows), lines)
        amount = _amount(rows, handed)
        intent_id, summary = order.payment_intent_id, f"picked up at {location.name}"
    await _capture(ctx, order_id, intent_id, amount)
    return await _take_units(ctx, principal, order_id, "pickup", summary, lines)


async def ship(ctx: OrderContext, principal: Principal, order_id: uuid.UUID) -> OrderView:
    async with ctx.uow(readonly=True) as uow:
        order = await OrderRepository.of(uow).order(order_id)
        allocations = await OrderRepository.of(uow).allocations(order_id)
        locations = {a.location for a in allocations}
        principal.require(
            Permission.WORK_PICKUPS, at_location=locations.pop() if len(locations) == 1 else None
        )
        next_status("ship", order.status, order.fulfilment_type)
        intent_id, amount = order.payment_intent_id, order.total_minor
    await _capture(ctx, order_id, intent_id, amount)
    return await _take_units(ctx, principal, order_id, "ship", "shipped")


async def _take_units(
    ctx: OrderContext,
    principal: Principal,
    order_id: uuid.UUID,
    action: str,
    summary: str,
    handed_lines: Sequence[tuple[str, int]] | None = None,
) -> OrderView:
    """Close the order and take what left the building off `on_hand`; a pickup's units not
    handed over are released and leave the order."""
    async with ctx.uow() as uow:
        orders = OrderRepository.of(uow)
        order = await orders.order(order_id, for_update=True)
        rows = await orders.lines(order_id)
        if action == "pickup":
            handed = plan_handover(_states(rows), handed_lines)
            order.hand_over(utcnow())
        else:
            handed = {row.sku: row.quantity for row in rows}
            order.ship(utcnow())
        left = {row.sku: row.quantity - handed.get(row.sku, 0) for row in rows}
        if any(left.values()):
            summary += (
                " (handed over: "
                + ", ".join(
                    f"{handed.get(row.sku, 0)} of {row.quantity} x {row.sku}"
                    for row in rows
                    if row.quantity
                )
                + "; the rest released, not charged)"
            )
        _record_transition(
            uow,
            order,
            principal.channel.value,
            principal.actor,
            summary,
            order.pickup_location_id,
        )
        changes: list[Change] = []
        reference, to_take = f"order:{order_id}", dict(handed)
        for a in await orders.allocations(order_id):
            key = LevelKey(a.location_id, a.sku_id)
            taken = min(a.quantity, to_take.get(a.sku, 0))
            to_take[a.sku] = to_take.get(a.sku, 0) - taken
            if taken:
                changes.append(
                    Change.hand_over(
                        key, taken, principal, sku=a.sku, location=a.location, reference=reference
                    )
                )
            if a.quantity - taken:
                changes.append(
                    Change.release(
                        key,
                        a.quantity - taken,
                        principal,
                        sku=a.sku,
                        location=a.location,
                        reference=reference,
                    )
                )
                await orders.take_from_allocation(
                    order_id, a.sku_id, a.location_id, a.quantity - taken
                )
        await Ledger.of(uow).apply(changes)
        dropped = 0
        for row in rows:
            kept = row.quantity - left[row.sku]
            dropped += left[row.sku] * row.unit_price_minor
            await orders.set_line_work(
                order_id,
                row.sku_id,
                quantity=kept,
                ready=min(row.ready_quantity, kept),
                rejected=row.rejected_quantity,
                handed_over=kept,
            )
        if dropped:
            order.drop_units(dropped, utcnow())
        view = await _view(uow, order, False)
        await uow.commit()
    return view


def _states(rows: Sequence[LineRow]) -> list[LineState]:
    return [LineState(row.sku, row.quantity, row.ready_quantity) for row in rows]


def _amount(rows: Sequence[LineRow], handed: dict[str, int]) -> int:
    """What the handed-over units cost: all that is captured."""
    return sum(handed.get(row.sku, 0) * row.unit_price_minor for row in rows)


async def _pickup_location(uow: UnitOfWork, order: Order) -> Location:
    if order.pickup_location_id is None:
        raise BusinessRuleViolation("this order is shipped, not picked up")
    return (await CatalogueRepository.of(uow).locations_by_id([order.pickup_location_id]))[
        order.pickup_location_id
    ]
