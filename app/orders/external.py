"""Orders that external storefronts (Shopify) report."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from app.inventory.changes import Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey
from app.orders.closing import _release_all
from app.orders.commands import NewOrder
from app.orders.context import OrderContext
from app.orders.fulfilment import _take_units
from app.orders.model import OPEN_STATUSES, Fulfilment, OrderStatus, merge_lines
from app.orders.placing import _insert_order, _reserve_and_record
from app.orders.repository import OrderRepository
from app.orders.reserving import _Plan, _reserve
from app.orders.returns import take_back
from app.orders.transitions import _record_transition
from app.orders.views import OrderView, _view
from app.platform.access import Channel, Principal, Role
from app.platform.errors import InsufficientStock
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork

log = structlog.get_logger("omnistock.orders")


# Orders from external storefronts --------------------------------------------------------
async def record_external_order(
    ctx: OrderContext,
    *,
    channel: str,
    external_id: str,
    lines: list[tuple[str, int]],
    customer_email: str | None,
    customer_name: str | None = None,
    location: str | None = None,
    currency: str | None = None,
) -> OrderView:
    """An order taken and paid on an external storefront (Shopify). It reserves stock at the
    location that will fulfil it (or wherever sourcing finds it); when stock is short it is
    still recorded — flagged at risk and reported — never dropped. Idempotent by the
    storefront's own order id."""
    system = Principal("system", channel, Role.ADMIN)
    async with ctx.uow(readonly=True) as uow:
        existing = await OrderRepository.of(uow).order_by_external_id(channel, external_id)
        if existing is not None:
            return await _view(uow, existing, False)
    known, unknown = await _split_known_skus(ctx, merge_lines(lines))
    email = customer_email or f"{_safe(external_id)}@guest.{channel}.invalid"
    data = NewOrder(
        email=email,
        name=customer_name,
        lines=known,
        fulfilment=Fulfilment.SHIP,
        channel=channel,
        external_id=external_id,
    )
    try:
        if not known:
            raise InsufficientStock("no line of this order names a known SKU", {"short": []})
        if location:
            order_id = await _record_at_location(ctx, system, Channel(channel), data, location)
        else:
            order_id = (await _reserve_and_record(ctx, system, Channel(channel), data, known)).id
        short: dict[str, Any] | None = None
    except InsufficientStock as exc:
        order_id = await _record_unreserved(ctx, system, Channel(channel), data)
        short = exc.details
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order(order_id, for_update=True)
        now = utcnow()
        order.mark_paid_externally(channel, now)
        if order.status == OrderStatus.PENDING_PAYMENT:
            order.confirm(now)
            _record_transition(uow, order, channel, system.actor, f"paid on {channel}")
        problems = [f"unknown SKU {sku}" for sku, _ in unknown]
        if short is not None:
            problems.append(
                "not enough stock to reserve: "
                + ", ".join(
                    f"{s.get('sku')} (wanted {s.get('requested')}, {s.get('available', 0)} left)"
                    for s in short.get("short", [])
                )
            )
        if problems:
            order.flag_at_risk(now)
            OrderRepository.of(uow).add_event(
                event="at_risk",
                channel=channel,
                actor=system.actor,
                order_id=order.id,
                customer_id=order.customer_id,
                summary=f"{order.number}: " + "; ".join(problems),
            )
        view = await _view(uow, order, False)
        await uow.commit()
    log.info(
        "external order recorded",
        channel=channel,
        external_id=external_id,
        order=view.number,
        at_risk=view.at_risk,
    )
    return view


async def cancel_external_order(
    ctx: OrderContext, *, channel: str, external_id: str, reason: str | None = None
) -> OrderView | None:
    """The storefront cancelled its order: release what it holds. Repeats change nothing."""
    system = Principal("system", channel, Role.ADMIN)
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order_by_external_id(channel, external_id)
        if order is None:
            return None
        if order.status not in OPEN_STATUSES:
            return await _view(uow, order, False)
        order = await OrderRepository.of(uow).order(order.id, for_update=True)
        await _release_all(
            uow,
            order,
            "cancel",
            channel,
            system.actor,
            f"cancelled on {channel}" + (f": {reason}" if reason else ""),
        )
        view = await _view(uow, order, False)
        await uow.commit()
    return view


async def _split_known_skus(
    ctx: OrderContext, lines: list[tuple[str, int]]
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    async with ctx.uow(readonly=True) as uow:
        found = await CatalogueRepository.of(uow).existing_skus([sku for sku, _ in lines])
    return (
        [line for line in lines if line[0] in found],
        [line for line in lines if line[0] not in found],
    )


async def _record_at_location(
    ctx: OrderContext, principal: Principal, channel: Channel, data: NewOrder, location: str
) -> uuid.UUID:
    """Reserve every line at the storefront location that fulfils the order."""
    order_id = uuid.uuid4()
    async with ctx.uow() as uow:
        loc = await CatalogueRepository.of(uow).location(location)
        skus = await CatalogueRepository.of(uow).skus_by_code([sku for sku, _ in data.lines])
        plan = _Plan({sku: [(loc.id, loc.code, qty)] for sku, qty in data.lines})
        await _reserve(uow, principal, channel, plan, skus, f"order:{order_id}")
        await _insert_order(
            uow, order_id, principal, channel, data, skus, plan, None, channel.value
        )
        await uow.commit()
    return order_id


async def _record_unreserved(
    ctx: OrderContext, principal: Principal, channel: Channel, data: NewOrder
) -> uuid.UUID:
    order_id = uuid.uuid4()
    async with ctx.uow() as uow:
        skus = await CatalogueRepository.of(uow).skus_by_code([sku for sku, _ in data.lines])
        await _insert_order(
            uow, order_id, principal, channel, data, skus, _Plan(), None, channel.value
        )
        await uow.commit()
    return order_id


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text)[-60:]


# Fulfilments and refunds from external storefronts ------------------------------------------
async def fulfil_external_order(
    ctx: OrderContext,
    *,
    channel: str,
    external_id: str,
    shipped: list[tuple[str, int]] | None = None,
) -> OrderView | None:
    """The storefront shipped the order: its reserved units leave `on_hand`, the order is
    shipped. `shipped` (sku, units) of one fulfilment ships the order only when it covers
    every line; a part shipment leaves the units reserved until the rest ships (the order's
    own `fulfilled` status then ships it). Repeats change nothing; None if unknown."""
    async with ctx.uow(readonly=True) as uow:
        order = await OrderRepository.of(uow).order_by_external_id(channel, external_id)
        if order is None:
            return None
        if order.status != OrderStatus.CONFIRMED:
            return await _view(uow, order, False)
        rows = await OrderRepository.of(uow).lines(order.id)
        order_id = order.id
    if shipped is not None:
        given = dict(merge_lines(shipped))
        if any(given.get(row.sku, 0) < row.quantity for row in rows if row.quantity):
            return None
    system = Principal("system", channel, Role.ADMIN)
    return await _take_units(ctx, system, order_id, "ship", f"fulfilled on {channel}")


async def restock_external_refund(
    ctx: OrderContext,
    *,
    channel: str,
    external_id: str,
    restocked: list[tuple[str, int, str]],
    claim: Callable[[UnitOfWork], Awaitable[bool]],
    note: str,
) -> int | None:
    """A refund on the storefront put units back on the shelf: each (sku, units, our
    location code) is returned to that location's stock and recorded on the order. `claim`
    runs in the same transaction and says whether this refund is new (False: applied
    before, nothing changes). Returns the units restocked, or None when the order is not
    in the book or not shipped yet (nothing changes, nothing is claimed)."""
    system = Principal("system", channel, Role.ADMIN)
    async with ctx.uow() as uow:
        orders = OrderRepository.of(uow)
        found = await orders.order_by_external_id(channel, external_id)
        if found is None or found.status not in (OrderStatus.SHIPPED, OrderStatus.PICKED_UP):
            return None
        order = await orders.order(found.id, for_update=True)
        if not await claim(uow):
            return 0
        known = {row.sku for row in await orders.lines(order.id)}
        back = [(sku, units, code) for sku, units, code in restocked if sku in known and units]
        if not back:
            await uow.commit()
            return 0
        _, sku_ids = await take_back(uow, order, merge_lines([(s, u) for s, u, _ in back]))
        catalogue = CatalogueRepository.of(uow)
        changes = []
        for sku, units, code in back:
            loc = await catalogue.location(code)
            changes.append(
                Change.restock(
                    LevelKey(loc.id, sku_ids[sku]),
                    units,
                    system,
                    sku=sku,
                    location=loc.code,
                    reference=f"order:{order.id}",
                )
            )
        await Ledger.of(uow).apply(sorted(changes, key=lambda c: c.key))
        orders.add_event(
            event="returned",
            channel=channel,
            actor=system.actor,
            order_id=order.id,
            customer_id=order.customer_id,
            summary=f"{sum(u for _, u, _ in back)} item(s) restocked: {note}",
        )
        order.touch(utcnow())
        await uow.commit()
    return sum(u for _, u, _ in back)
