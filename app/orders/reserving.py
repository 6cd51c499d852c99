"""Reserving an order's lines: at the pickup store or sourced for shipping; else alternatives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog

from app.inventory import geo, rules, sourcing
from app.inventory.ledger import Change, Ledger
from app.inventory.repository import CatalogueRepository, SkuRef
from app.inventory.rules import Guard, LevelKey, MovementKind, Quantities
from app.orders.commands import NewOrder, ShipAddress
from app.orders.context import OrderContext
from app.orders.model import Fulfilment
from app.orders.repository import OrderRepository
from app.platform.access import Channel, Principal
from app.platform.errors import InsufficientStock
from app.platform.uow import UnitOfWork

log = structlog.get_logger("omnistock.orders")


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
    *,
    check_first: bool = False,
) -> None:
    """Reserve every part of `plan` or nothing. `check_first` when nothing has looked at
    the stock yet (a ship order's sourcing already has)."""
    changes = [
        Change(
            key=LevelKey(location_id, skus[sku].id),
            delta=rules.reservation(qty),
            kind=MovementKind.RESERVATION.value,
            guard=Guard.AVAILABLE,
            channel=channel.value,
            actor=principal.actor,
            sku=sku,
            location=code,
            reference=reference,
        )
        for sku, parts in plan.parts.items()
        for location_id, code, qty in parts
    ]
    keys = [c.key for c in changes]
    if check_first:
        # Refused on what is committed, without queueing for the lock: a sold-out SKU
        # everybody wants would otherwise serialise every refusal behind every sale.
        _refuse_if_short(changes, await Ledger.of(uow).peek(keys))
    _refuse_if_short(changes, await Ledger.of(uow).lock(keys, create_missing=False))
    await Ledger.of(uow).apply(changes)


def _refuse_if_short(changes: list[Change], levels: dict[LevelKey, Quantities]) -> None:
    shortages = []
    for change in changes:  # report every short line, not just the first
        try:
            rules.check_guard(
                change.sku, change.location, levels[change.key], change.delta, change.guard
            )
        except InsufficientStock as exc:
            shortages.append(exc.details)
    if shortages:
        raise InsufficientStock("not enough stock for this order", {"short": shortages})


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
        candidates: dict[str, dict[str, Any]] = {}
        for row in stock_rows:
            entry = candidates.setdefault(
                row.location, {"id": row.location_id, "row": row, "available": {}}
            )
            entry["available"][by_id[row.sku_id]] = row.available
        allocation = sourcing.source_shipment(
            lines,
            [
                sourcing.Candidate(
                    code, e["row"].kind, _distance(data.address, e["row"]), e["available"]
                )
                for code, e in candidates.items()
            ],
            warehouses_first=ctx.warehouses_first,
        )
        if allocation is None:
            short = sourcing.shortages(
                lines,
                [
                    sourcing.Candidate(code, e["row"].kind, None, e["available"])
                    for code, e in candidates.items()
                ],
            )
            raise InsufficientStock(
                "not enough stock to ship this order",
                {
                    "short": [
                        {"sku": s.sku, "requested": s.requested, "available": s.available}
                        for s in short
                    ]
                },
            )
        plan = _Plan(
            {
                sku: [(candidates[loc]["id"], loc, qty) for loc, qty in parts]
                for sku, parts in allocation.items()
            }
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
        elif (
            data.address
            and data.address.latitude is not None
            and data.address.longitude is not None
        ):
            origin = (data.address.latitude, data.address.longitude)
        rows = await OrderRepository.of(uow).stock_for(
            [s.id for s in skus.values()], pickup_stores=True
        )
    details = []
    for entry in short.details.get("short", []):
        sku = entry["sku"]
        alternatives: list[dict[str, Any]] = []
        for row in rows:
            if (
                row.sku_id != skus[sku].id
                or row.available < requested[sku]
                or row.location == data.pickup_location
            ):
                continue
            distance = geo.distance_km(*origin, row.latitude, row.longitude) if origin else None
            if distance is not None and distance > ALTERNATIVES_RADIUS_KM:
                continue
            alternatives.append(
                {
                    "location": row.location,
                    "available": row.available,
                    "distance_km": round(distance, 3) if distance is not None else None,
                }
            )
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


def _distance(address: ShipAddress | None, row: Any) -> float | None:
    if address is None or address.latitude is None or address.longitude is None:
        return None
    return geo.distance_km(address.latitude, address.longitude, row.latitude, row.longitude)
