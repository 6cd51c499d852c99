"""Rejected units leave an order's allocation where they were rejected: released and written
off there through the ledger (`damage` for damaged units, a negative `adjustment` saying why
for the others), so they are never sold again by mistake. A ship order's units are re-sourced
from other ship-enabled locations first; only those nowhere to be found leave the order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.inventory import sourcing
from app.inventory.changes import Change
from app.inventory.ledger import Ledger
from app.inventory.rules import LevelKey, MovementKind, Quantities
from app.orders.context import OrderContext
from app.orders.model import Fulfilment, Rejection, RejectReason, write_off_units
from app.orders.repository import AllocationRow, LineRow, OrderRepository
from app.orders.tables import Order
from app.platform.access import Principal
from app.platform.errors import DomainError
from app.platform.uow import UnitOfWork

REASON_WORDS = {
    RejectReason.DAMAGED: "damaged",
    RejectReason.NOT_FOUND: "not found",
    RejectReason.OTHER: "not fit to sell",
}


@dataclass(slots=True)
class Outcome:
    """What a request did, for the events and the customer's message."""

    left: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # sku -> units gone
    resourced: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class At:
    """Where the units were worked."""

    location_id: int
    code: str
    name: str


# Rejecting -------------------------------------------------------------------------------------
async def reject_units(
    ctx: OrderContext,
    uow: UnitOfWork,
    principal: Principal,
    order: Order,
    lines: list[LineRow],
    allocations: list[AllocationRow],
    at: At,
    rejected: Sequence[Rejection],
) -> Outcome:
    """Release and write off the rejected units at `at`; re-source a ship order's. All the
    levels are locked in one call, in (location, SKU) order, like every other writer."""
    outcome = Outcome(rejected=list(rejected))
    if not rejected:
        return outcome
    sku_ids = {line.sku: line.sku_id for line in lines}
    totals: dict[str, int] = defaultdict(int)
    for r in rejected:
        totals[r.sku] += r.quantity
    plan = (
        await _resourcing_plan(ctx, uow, order, at, sku_ids, totals)
        if order.fulfilment_type == Fulfilment.SHIP
        else {}
    )
    ledger = Ledger.of(uow)
    if plan:
        try:
            async with uow.savepoint():
                await _apply(uow, principal, order, at, sku_ids, rejected, plan)
        except DomainError:  # the units went meanwhile: they leave the order instead
            ledger.forget_locks()
            plan = {}
    if not plan:
        await _apply(uow, principal, order, at, sku_ids, rejected, plan)
    orders = OrderRepository.of(uow)
    held = {a.sku: a.quantity for a in allocations if a.location_id == at.location_id}
    for sku, quantity in totals.items():
        parts = plan.get(sku, [])
        kept = held[sku] - quantity
        await orders.replace_allocation(
            order.id,
            sku_ids[sku],
            at.location_id,
            [
                *((location_id, qty) for location_id, _, qty in parts),
                *([(at.location_id, kept)] if kept else []),
            ],
        )
        moved = sum(qty for _, _, qty in parts)
        if moved:
            outcome.resourced.append(
                f"{moved} x {sku} from {at.code} to " + ", ".join(code for _, code, _ in parts)
            )
        if quantity - moved:
            outcome.left[sku] += quantity - moved
    return outcome


async def _resourcing_plan(
    ctx: OrderContext,
    uow: UnitOfWork,
    order: Order,
    at: At,
    sku_ids: dict[str, int],
    totals: dict[str, int],
) -> dict[str, list[tuple[int, str, int]]]:
    """Other ship-enabled locations that can take over the rejected units, as many as they
    have (read unlocked; the reservations check again under the locks)."""
    ids = [sku_ids[sku] for sku in totals]
    rows = [
        r
        for r in await OrderRepository.of(uow).stock_for(ids, ship_enabled=True)
        if r.location_id != at.location_id
    ]
    address = order.ship_address or {}
    origin = (
        (float(address["latitude"]), float(address["longitude"]))
        if address.get("latitude") is not None and address.get("longitude") is not None
        else None
    )
    candidates = sourcing.candidates_from(rows, {sku_ids[s]: s for s in totals}, origin)
    location_ids = {r.location: r.location_id for r in rows}
    plan: dict[str, list[tuple[int, str, int]]] = {}
    for sku, quantity in totals.items():
        can = min(quantity, sum(c.available.get(sku, 0) for c in candidates))
        found = sourcing.source_shipment([(sku, can)], candidates, ctx.warehouses_first)
        if can and found:
            plan[sku] = [(location_ids[loc], loc, qty) for loc, qty in found[sku]]
    return plan


async def _apply(
    uow: UnitOfWork,
    principal: Principal,
    order: Order,
    at: At,
    sku_ids: dict[str, int],
    rejected: Sequence[Rejection],
    plan: dict[str, list[tuple[int, str, int]]],
) -> None:
    reference = f"order:{order.id}"
    keys = {r.sku: LevelKey(at.location_id, sku_ids[r.sku]) for r in rejected}
    targets = [
        (LevelKey(location_id, sku_ids[sku]), code, sku, qty)
        for sku, parts in plan.items()
        for location_id, code, qty in parts
    ]
    ledger = Ledger.of(uow)
    levels = await ledger.lock(
        [*keys.values(), *(key for key, *_ in targets)],
        actor=principal.actor,
        channel=principal.channel.value,
    )
    on_hand = {key: levels[key].on_hand for key in keys.values()}
    changes: list[Change] = []
    for r in rejected:
        key = keys[r.sku]
        why = f"rejected from order {order.number}: {REASON_WORDS[r.reason]}"
        changes.append(
            Change.release(
                key, r.quantity, principal, sku=r.sku, location=at.code, reference=reference
            )
        )
        units = write_off_units(r.quantity, on_hand[key])
        on_hand[key] -= units
        if units:
            damaged = r.reason is RejectReason.DAMAGED
            changes.append(
                Change.by_hand(
                    key,
                    MovementKind.DAMAGE if damaged else MovementKind.ADJUSTMENT,
                    units if damaged else -units,
                    Quantities(),
                    principal,
                    sku=r.sku,
                    location=at.code,
                    reference=reference,
                    reason=why,
                )
            )
    changes += [
        Change.reserve(key, qty, principal, sku=sku, location=code, reference=reference)
        for key, code, sku, qty in targets
    ]
    await ledger.apply(changes)
