"""Use cases of the till: counter sales (also replayed late from an offline terminal),
counter returns, and what a sale does to orders that were promised the same units."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db.catalogue import SkuRef
from app.db.ledger import Change, LevelKey
from app.db.models import Location, utcnow
from app.db.order_models import PosTransaction
from app.db.session import UnitOfWork
from app.domain import sourcing, stock
from app.domain.access import Permission, Principal
from app.domain.errors import AlreadyExists, BusinessRuleViolation, DomainError
from app.domain.orders import OPEN_STATUSES, Fulfilment, merge_lines
from app.domain.stock import Guard, MovementKind
from app.services.orders import AtRiskOrder, OrderContext, run_payment_actions, take_back


@dataclass(frozen=True, slots=True)
class CounterLine:
    sku: str
    quantity: int
    unit_price_minor: int


@dataclass(frozen=True, slots=True)
class CounterSale:
    client_txn_id: str
    location: str
    occurred_at: datetime
    lines: list[CounterLine]
    customer_email: str | None = None


@dataclass(frozen=True, slots=True)
class CounterReturn:
    client_txn_id: str
    location: str
    lines: list[CounterLine]
    original_order_id: uuid.UUID | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PosResult:
    body: dict[str, Any]
    replayed: bool


def _fingerprint(kind: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps([kind, payload], sort_keys=True, default=str).encode()
    ).hexdigest()


async def record_sale(ctx: OrderContext, principal: Principal, sale: CounterSale) -> PosResult:
    """Rule 2: the counter always wins. The sale is recorded even if it takes stock below
    what is promised to orders; those orders are then flagged and, if they ship, re-sourced."""
    principal.require(Permission.SELL_AT_COUNTER, at_location=sale.location)
    if not sale.lines:
        raise BusinessRuleViolation("a sale needs at least one line")
    payload = {
        "location": sale.location,
        "occurred_at": sale.occurred_at.isoformat(),
        "lines": [[x.sku, x.quantity, x.unit_price_minor] for x in sale.lines],
        "customer": sale.customer_email,
    }
    fingerprint = _fingerprint("sale", payload)
    async with ctx.new_uow() as uow:
        loc = await uow.catalogue.location(sale.location)
        replay = await _replay(uow, loc.id, sale.client_txn_id, fingerprint)
        if replay is not None:
            return replay
        quantities = merge_lines([(x.sku, x.quantity) for x in sale.lines])
        skus = await uow.catalogue.skus_by_code([sku for sku, _ in quantities])
        for sku, quantity in quantities:
            if quantity <= 0:
                raise BusinessRuleViolation(f"{sku}: quantity must be positive")
        customer = (
            await uow.orders.customer_for_email(sale.customer_email)
            if sale.customer_email
            else None
        )
        txn_id = uuid.uuid4()
        recorded = await uow.ledger.apply(
            _counter_changes(
                principal,
                loc,
                skus,
                quantities,
                stock.counter_sale,
                MovementKind.POS_SALE,
                sale.client_txn_id,
            )
        )
        total = sum(x.quantity * x.unit_price_minor for x in sale.lines)
        body = {
            "id": str(txn_id),
            "client_txn_id": sale.client_txn_id,
            "kind": "sale",
            "location": loc.code,
            "occurred_at": sale.occurred_at.isoformat(),
            "customer_id": str(customer.id) if customer else None,
            "total_minor": total,
            "lines": [
                {"sku": x.sku, "quantity": x.quantity, "unit_price_minor": x.unit_price_minor}
                for x in sale.lines
            ],
            "at_risk_orders": [],
        }
        row = PosTransaction(
            id=txn_id,
            kind="sale",
            location_id=loc.id,
            client_txn_id=sale.client_txn_id,
            request_hash=fingerprint,
            customer_id=customer.id if customer else None,
            lines=body["lines"],
            total_minor=total,
            occurred_at=sale.occurred_at,
            recorded_at=utcnow(),
            actor=principal.actor,
            result=body,
        )
        if not await uow.orders.add_pos_transaction(row):
            raise AlreadyExists("this till transaction is being recorded concurrently; retry")
        uow.orders.add_event(
            event="pos_sale",
            channel=principal.channel.value,
            actor=principal.actor,
            customer_id=customer.id if customer else None,
            location_id=loc.id,
            pos_transaction_id=txn_id,
            summary=f"bought {sum(q for _, q in quantities)} item(s) at {loc.name} for {total}",
        )
        short = [
            (m.change.key, m.change.sku)
            for m in recorded
            if m.level_after.on_hand < m.level_after.reserved
        ]
        await uow.commit()
    at_risk: list[AtRiskOrder] = []
    for key, _sku in short:
        at_risk.extend(await resolve_shortage(ctx, key.location_id, key.sku_id))
    if at_risk:
        body["at_risk_orders"] = [
            {
                "order_id": str(o.order_id),
                "number": o.number,
                "fulfilment": o.fulfilment,
                "resolved": o.resolved,
                "detail": o.detail,
            }
            for o in at_risk
        ]
        async with ctx.new_uow() as uow:
            stored = await uow.orders.pos_transaction(loc.id, sale.client_txn_id)
            if stored is not None:
                stored.result = body
            await uow.commit()
    return PosResult(body, replayed=False)


async def record_sales(
    ctx: OrderContext, principal: Principal, sales: list[CounterSale]
) -> list[PosResult | DomainError]:
    """Offline replay: each sale on its own, in order; one failure does not stop the rest."""
    results: list[PosResult | DomainError] = []
    for sale in sales:
        try:
            results.append(await record_sale(ctx, principal, sale))
        except DomainError as exc:
            results.append(exc)
    return results


async def record_return(ctx: OrderContext, principal: Principal, data: CounterReturn) -> PosResult:
    """Units come back over the counter: restock here; refund the order they came from."""
    principal.require(Permission.SELL_AT_COUNTER, at_location=data.location)
    if not data.lines:
        raise BusinessRuleViolation("a return needs at least one line")
    payload = {
        "location": data.location,
        "order": str(data.original_order_id),
        "lines": [[x.sku, x.quantity, x.unit_price_minor] for x in data.lines],
    }
    fingerprint = _fingerprint("return", payload)
    async with ctx.new_uow() as uow:
        loc = await uow.catalogue.location(data.location)
        replay = await _replay(uow, loc.id, data.client_txn_id, fingerprint)
        if replay is not None:
            return replay
        quantities = merge_lines([(x.sku, x.quantity) for x in data.lines])
        skus = await uow.catalogue.skus_by_code([sku for sku, _ in quantities])
        refund = sum(x.quantity * x.unit_price_minor for x in data.lines)
        customer_id = None
        if data.original_order_id is not None:
            order = await uow.orders.order(data.original_order_id, for_update=True)
            refund, _ = await take_back(uow, order, quantities)
            customer_id = order.customer_id
        await uow.ledger.apply(
            _counter_changes(
                principal,
                loc,
                skus,
                quantities,
                stock.restock,
                MovementKind.POS_RETURN,
                data.client_txn_id,
            )
        )
        txn_id = uuid.uuid4()
        body = {
            "id": str(txn_id),
            "client_txn_id": data.client_txn_id,
            "kind": "return",
            "location": loc.code,
            "original_order_id": str(data.original_order_id) if data.original_order_id else None,
            "refund_minor": refund,
            "lines": [
                {"sku": x.sku, "quantity": x.quantity, "unit_price_minor": x.unit_price_minor}
                for x in data.lines
            ],
        }
        row = PosTransaction(
            id=txn_id,
            kind="return",
            location_id=loc.id,
            client_txn_id=data.client_txn_id,
            request_hash=fingerprint,
            customer_id=customer_id,
            original_order_id=data.original_order_id,
            lines=body["lines"],
            total_minor=-refund,
            occurred_at=data.occurred_at or utcnow(),
            recorded_at=utcnow(),
            actor=principal.actor,
            result=body,
        )
        if not await uow.orders.add_pos_transaction(row):
            raise AlreadyExists("this till transaction is being recorded concurrently; retry")
        uow.orders.add_event(
            event="returned",
            channel=principal.channel.value,
            actor=principal.actor,
            customer_id=customer_id,
            order_id=data.original_order_id,
            location_id=loc.id,
            pos_transaction_id=txn_id,
            summary=f"{sum(q for _, q in quantities)} item(s) returned at "
            f"{loc.name}; refund {refund}",
        )
        await uow.commit()
    if data.original_order_id is not None:
        await run_payment_actions(ctx, data.original_order_id)
    return PosResult(body, replayed=False)


def _counter_changes(
    principal: Principal,
    loc: Location,
    skus: dict[str, SkuRef],
    quantities: list[tuple[str, int]],
    delta: Callable[[int], stock.Delta],
    kind: MovementKind,
    client_txn_id: str,
) -> list[Change]:
    """Movements of a till transaction: they happened, so nothing guards them."""
    return sorted(
        (
            Change(
                key=LevelKey(loc.id, skus[sku].id),
                delta=delta(quantity),
                kind=kind.value,
                guard=Guard.NONE,
                channel=principal.channel.value,
                actor=principal.actor,
                sku=sku,
                location=loc.code,
                reference=f"pos:{client_txn_id}",
            )
            for sku, quantity in quantities
        ),
        key=lambda c: c.key,
    )


async def _replay(
    uow: UnitOfWork, location_id: int, client_txn_id: str, fingerprint: str
) -> PosResult | None:
    existing = await uow.orders.pos_transaction(location_id, client_txn_id)
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise IdempotencyMismatch(
            f"client_txn_id {client_txn_id} was already used for a different transaction",
            {"client_txn_id": client_txn_id},
        )
    return PosResult(existing.result or {}, replayed=True)


class IdempotencyMismatch(DomainError):
    code = "idempotency_conflict"


async def resolve_shortage(ctx: OrderContext, location_id: int, sku_id: int) -> list[AtRiskOrder]:
    """Units promised at this location are no longer on the shelf. Flag the newest promises
    that cannot be kept; move ship orders to another location that has the units."""
    async with ctx.new_uow() as uow:
        level = await _level(uow, location_id, sku_id)
        missing = level.reserved - max(0, level.on_hand)
        if missing <= 0:
            return []
        affected = []
        for allocation in await uow.orders.open_allocations_at(location_id, sku_id):
            if missing <= 0:
                break
            affected.append(allocation.order_id)
            missing -= allocation.quantity
    return [await _handle_at_risk(ctx, order_id, location_id, sku_id) for order_id in affected]


async def _handle_at_risk(
    ctx: OrderContext, order_id: uuid.UUID, location_id: int, sku_id: int
) -> AtRiskOrder:
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order_id, for_update=True)
        if order.status not in OPEN_STATUSES:
            return AtRiskOrder(
                order.id, order.number, order.fulfilment_type, True, f"already {order.status}"
            )
        allocations = {(a.location_id, a.sku_id): a for a in await uow.orders.allocations(order_id)}
        held = allocations.get((location_id, sku_id))
        if held is None:
            return AtRiskOrder(
                order.id, order.number, order.fulfilment_type, True, "no longer allocated there"
            )
        if order.fulfilment_type == Fulfilment.SHIP:
            moved = await _resource_shipment(uow, order.id, held, ctx.warehouses_first)
            if moved:
                order.at_risk = False
                uow.orders.add_event(
                    event="resourced",
                    channel="system",
                    actor="system",
                    order_id=order.id,
                    customer_id=order.customer_id,
                    summary=f"{order.number}: {held.quantity} x {held.sku} "
                    f"moved from {held.location} to {moved}",
                )
                await uow.commit()
                return AtRiskOrder(
                    order.id, order.number, order.fulfilment_type, True, f"re-sourced from {moved}"
                )
        if not order.at_risk:
            order.at_risk = True
            uow.orders.add_event(
                event="at_risk",
                channel="system",
                actor="system",
                order_id=order.id,
                customer_id=order.customer_id,
                location_id=location_id,
                summary=f"{order.number}: {held.sku} at {held.location} was sold at the counter",
            )
        order.updated_at = utcnow()
        await uow.commit()
        detail = (
            "the pickup store no longer has the units"
            if order.fulfilment_type == Fulfilment.PICKUP
            else "no other location can ship the units"
        )
        return AtRiskOrder(order.id, order.number, order.fulfilment_type, False, detail)


async def _resource_shipment(
    uow: UnitOfWork, order_id: uuid.UUID, held: Any, warehouses_first: bool
) -> str | None:
    """Reserve the held units elsewhere and release them here; None if nowhere has them."""
    rows = [
        r
        for r in await uow.orders.stock_for([held.sku_id], ship_enabled=True)
        if r.location_id != held.location_id
    ]
    plan = sourcing.source_shipment(
        [(held.sku, held.quantity)],
        [sourcing.Candidate(r.location, r.kind, None, {held.sku: r.available}) for r in rows],
        warehouses_first,
    )
    if plan is None:
        return None
    ids = {r.location: r.location_id for r in rows}
    parts = [(ids[loc], loc, qty) for loc, qty in plan[held.sku]]
    reference = f"order:{order_id}"
    changes = [
        Change(
            key=LevelKey(held.location_id, held.sku_id),
            delta=stock.release(held.quantity),
            kind=MovementKind.RELEASE.value,
            guard=Guard.NONE,
            channel="system",
            actor="system",
            sku=held.sku,
            location=held.location,
            reference=reference,
        )
    ]
    changes += [
        Change(
            key=LevelKey(location_id, held.sku_id),
            delta=stock.reservation(qty),
            kind=MovementKind.RESERVATION.value,
            guard=Guard.AVAILABLE,
            channel="system",
            actor="system",
            sku=held.sku,
            location=code,
            reference=reference,
        )
        for location_id, code, qty in parts
    ]
    try:
        async with uow.session.begin_nested():
            await uow.ledger.apply(sorted(changes, key=lambda c: c.key))
    except DomainError:
        uow.ledger.forget_locks()
        return None
    await uow.orders.replace_allocation(
        order_id,
        held.sku_id,
        held.location_id,
        [(location_id, qty) for location_id, _, qty in parts],
    )
    return ", ".join(code for _, code, _ in parts)


async def short_levels(ctx: OrderContext) -> list[tuple[int, int]]:
    """(location_id, sku_id) of every level with fewer units on hand than promised."""
    from app.db.stock_queries import StockQueries

    async with ctx.new_uow() as uow:
        return await StockQueries(uow).short_levels()


async def _level(uow: UnitOfWork, location_id: int, sku_id: int) -> stock.Quantities:
    from app.db.stock_queries import StockQueries

    return await StockQueries(uow).level(sku_id, location_id)
