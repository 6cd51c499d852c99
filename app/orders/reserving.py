"""Reserving an order's lines: at the pickup store or sourced for shipping; else alternatives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.inventory import sourcing
from app.inventory.changes import Actor, Change
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository, SkuRef
from app.inventory.rules import LevelKey
from app.orders.commands import NewOrder, ShipAddress
from app.orders.context import OrderContext
from app.orders.model import Fulfilment
from app.orders.repository import OrderRepository
from app.platform.access import Channel, Principal
from app.platform.errors import InsufficientStock
from app.platform.uow import UnitOfWork

ALTERNATIVES_RADIUS_KM = 50.0

MAX_ALTERNATIVES = 5

SOURCING_ATTEMPTS = 3


@dataclass(slots=True)
class _Plan:
    """Reservations chosen for a new order: sku -> [(location_id, location_code, qty)]."""

    parts: dict[str, list[tuple[int, str, int]]] = field(default_factory=dict)


async def _reserve(
    uow: UnitOfWork,
    principal: Principal,
    channel: Channel,
    plan: _Plan,
    skus: dict[str, SkuRef],
    reference: str | None,
) -> None:
    """Reserve every part of `plan` or nothing (the ledger refuses a short line on what is
    committed, without queueing for a busy level's lock)."""
    changes = [
        Change.reserve(
            LevelKey(location_id, skus[sku].id),
            qty,
            Actor.of(principal, channel),
            sku=sku,
            location=code,
            reference=reference,
        )
        for sku, parts in plan.parts.items()
        for location_id, code, qty in parts
    ]
    await Ledger.of(uow).reserve(changes)


async def _reserve_shipment(
    ctx: OrderContext,
    uow: UnitOfWork,
    principal: Principal,
    channel: Channel,
    lines: list[tuple[str, int]],
    skus: dict[str, SkuRef],
    data: NewOrder,
    reference: str,
) -> _Plan:
    """Source from ship-enabled locations; if a concurrent order took the units between the
    read and the lock, source again from what is left."""
    by_id = {s.id: s.sku for s in skus.values()}
    for _ in range(SOURCING_ATTEMPTS):
        stock_rows = await OrderRepository.of(uow).stock_for(
            [s.id for s in skus.values()], ship_enabled=True
        )
        candidates = sourcing.candidates_from(stock_rows, by_id, _origin(data.address))
        allocation = sourcing.source_shipment(
            lines, candidates, warehouses_first=ctx.warehouses_first
        )
        if allocation is None:
            short = sourcing.shortages(lines, candidates)
            raise InsufficientStock(
                "not enough stock to ship this order",
                {
                    "short": [
                        {"sku": s.sku, "requested": s.requested, "available": s.available}
                        for s in short
                    ]
                },
            )
        ids = {row.location: row.location_id for row in stock_rows}
        plan = _Plan(
            {sku: [(ids[loc], loc, qty) for loc, qty in parts] for sku, parts in allocation.items()}
        )
        try:
            async with uow.savepoint():
                await _reserve(uow, principal, channel, plan, skus, reference)
            return plan
        except InsufficientStock:
            Ledger.of(uow).forget_locks()
            continue
    raise InsufficientStock(
        "stock changed while sourcing; nothing was reserved",
        {"short": [{"sku": sku, "requested": qty} for sku, qty in lines]},
    )


async def _with_alternatives(
    ctx: OrderContext, data: NewOrder, lines: list[tuple[str, int]], short: InsufficientStock
) -> InsufficientStock:
    """The 409 body: each short line with what is available and where else it is."""
    requested = dict(lines)
    short_skus = [entry["sku"] for entry in short.details.get("short", []) if "sku" in entry]
    async with ctx.uow(readonly=True) as uow:
        skus = await CatalogueRepository.of(uow).skus_by_code(short_skus)
        origin: tuple[float, float] | None = None
        if data.fulfilment is Fulfilment.PICKUP and data.pickup_location:
            pickup = await CatalogueRepository.of(uow).location_ref(data.pickup_location)
            origin = (pickup.latitude, pickup.longitude)
        else:
            origin = _origin(data.address)
        rows = await OrderRepository.of(uow).stock_for(
            [s.id for s in skus.values()], pickup_stores=True
        )
    candidates = sourcing.candidates_from(rows, {s.id: s.sku for s in skus.values()}, origin)
    details = []
    for entry in short.details.get("short", []):
        sku = entry["sku"]
        alternatives: list[dict[str, Any]] = [
            {
                "location": c.location,
                "available": c.available[sku],
                "distance_km": round(c.distance_km, 3) if c.distance_km is not None else None,
            }
            for c in candidates
            if sku in c.available
            and c.available[sku] >= requested[sku]
            and c.location != data.pickup_location
            and (c.distance_km is None or c.distance_km <= ALTERNATIVES_RADIUS_KM)
        ]
        alternatives.sort(
            key=lambda a: (a["distance_km"] is None, a["distance_km"] or 0, -a["available"])
        )
        details.append(
            {
                "sku": sku,
                "requested": requested[sku],
                "available": entry.get("available", 0),
                "alternatives": alternatives[:MAX_ALTERNATIVES],
            }
        )
    return InsufficientStock(
        "not enough stock for this order; nothing was reserved", {"lines": details}
    )


def _origin(address: ShipAddress | None) -> tuple[float, float] | None:
    if address is None or address.latitude is None or address.longitude is None:
        return None
    return address.latitude, address.longitude
