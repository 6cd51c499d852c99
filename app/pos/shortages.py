"""Orders that lost their units to the counter: flag them at risk or re-source them."""

from __future__ import annotations

import uuid
from typing import Any

from app.inventory import rules, sourcing
from app.inventory.changes import SYSTEM, Change
from app.inventory.ledger import Ledger
from app.inventory.queries import StockQueries
from app.inventory.rules import LevelKey
from app.orders.context import OrderContext
from app.orders.model import OPEN_STATUSES, Fulfilment
from app.orders.repository import OrderRepository
from app.orders.views import AtRiskOrder
from app.platform.errors import DomainError
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork


async def resolve_shortage(ctx: OrderContext, location_id: int, sku_id: int) -> list[AtRiskOrder]:
    """Units promised at this location are no longer on the shelf. Flag the newest promises
    that cannot be kept; move ship orders to another location that has the units."""
    async with ctx.uow(readonly=True) as uow:
        level = await _level(uow, location_id, sku_id)
        missing = level.reserved - max(0, level.on_hand)
        if missing <= 0:
            return []
        affected = []
        for allocation in await OrderRepository.of(uow).open_allocations_at(location_id, sku_id):
            if missing <= 0:
                break
            affected.append(allocation.order_id)
            missing -= allocation.quantity
    return [await _handle_at_risk(ctx, order_id, location_id, sku_id) for order_id in affected]


async def _handle_at_risk(
    ctx: OrderContext, order_id: uuid.UUID, location_id: int, sku_id: int
) -> AtRiskOrder:
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order(order_id, for_update=True)
        if order.status not in OPEN_STATUSES:
            return AtRiskOrder(
                order.id, order.number, order.fulfilment_type, True, f"already {order.status}"
            )
        allocations = {
            (a.location_id, a.sku_id): a
            for a in await OrderRepository.of(uow).allocations(order_id)
        }
        held = allocations.get((location_id, sku_id))
        if held is None:
            return AtRiskOrder(
                order.id, order.number, order.fulfilment_type, True, "no longer allocated there"
            )
        if order.fulfilment_type == Fulfilment.SHIP:
            moved = await _resource_shipment(uow, order.id, held, ctx.warehouses_first)
            if moved:
                order.clear_at_risk(utcnow())
                OrderRepository.of(uow).add_event(
                    event="resourced",
                    channel="system",
                    actor="system",
                    order_id=order.id,
                    customer_id=order.customer_id,
                    summary=f"{order.number}: {held.quantity} x {held.sku} "
                    f"moved from {held.location} to {moved}",
                )
                resourced = AtRiskOrder(
                    order.id, order.number, order.fulfilment_type, True, f"re-sourced from {moved}"
                )
                await uow.commit()
                return resourced
        if order.flag_at_risk(utcnow()):
            OrderRepository.of(uow).add_event(
                event="at_risk",
                channel="system",
                actor="system",
                order_id=order.id,
                customer_id=order.customer_id,
                location_id=location_id,
                summary=f"{order.number}: {held.sku} at {held.location} was sold at the counter",
            )
        detail = (
            "the pickup store no longer has the units"
            if order.fulfilment_type == Fulfilment.PICKUP
            else "no other location can ship the units"
        )
        flagged = AtRiskOrder(order.id, order.number, order.fulfilment_type, False, detail)
        await uow.commit()
    return flagged


async def _resource_shipment(
    uow: UnitOfWork, order_id: uuid.UUID, held: Any, warehouses_first: bool
) -> str | None:
    """Reserve the held units elsewhere and release them here; None if nowhere has them."""
    rows = [
        r
        for r in await OrderRepository.of(uow).stock_for([held.sku_id], ship_enabled=True)
        if r.location_id != held.location_id
    ]
    plan = sourcing.source_shipment(
        [(held.sku, held.quantity)],
        sourcing.candidates_from(rows, {held.sku_id: held.sku}),
        warehouses_first,
    )
    if plan is None:
        return None
    ids = {r.location: r.location_id for r in rows}
    parts = [(ids[loc], loc, qty) for loc, qty in plan[held.sku]]
    reference = f"order:{order_id}"
    changes = [
        Change.release(
            LevelKey(held.location_id, held.sku_id),
            held.quantity,
            SYSTEM,
            sku=held.sku,
            location=held.location,
            reference=reference,
        )
    ]
    changes += [
        Change.reserve(
            LevelKey(location_id, held.sku_id),
            qty,
            SYSTEM,
            sku=held.sku,
            location=code,
            reference=reference,
        )
        for location_id, code, qty in parts
    ]
    try:
        async with uow.savepoint():
            await Ledger.of(uow).apply(sorted(changes, key=lambda c: c.key))
    except DomainError:
        Ledger.of(uow).forget_locks()
        return None
    await OrderRepository.of(uow).replace_allocation(
        order_id,
        held.sku_id,
        held.location_id,
        [(location_id, qty) for location_id, _, qty in parts],
    )
    return ", ".join(code for _, code, _ in parts)


async def short_levels(ctx: OrderContext) -> list[tuple[int, int]]:
    """(location_id, sku_id) of every level with fewer units on hand than promised."""
    async with ctx.uow(readonly=True) as uow:
        return await StockQueries.of(uow).short_levels()


async def _level(uow: UnitOfWork, location_id: int, sku_id: int) -> rules.Quantities:
    return await StockQueries.of(uow).level(sku_id, location_id)
