"""Counter sales and returns: always accepted, idempotent by the till's transaction id."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.inventory import rules
from app.inventory.ledger import Change, Ledger
from app.inventory.repository import CatalogueRepository, SkuRef
from app.inventory.rules import Guard, LevelKey, MovementKind
from app.inventory.tables import Location
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import merge_lines
from app.orders.payment_actions import run_payment_actions
from app.orders.repository import OrderRepository
from app.orders.returns import take_back
from app.orders.views import AtRiskOrder
from app.platform.access import Permission, Principal
from app.platform.errors import AlreadyExists, BusinessRuleViolation, DomainError
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork
from app.pos.repository import TillRepository
from app.pos.shortages import resolve_shortage
from app.pos.tables import PosTransaction


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
    async with ctx.uow() as uow:
        loc = await CatalogueRepository.of(uow).location(sale.location)
        replay = await _replay(uow, loc.id, sale.client_txn_id, fingerprint)
        if replay is not None:
            return replay
        quantities = merge_lines([(x.sku, x.quantity) for x in sale.lines])
        skus = await CatalogueRepository.of(uow).skus_by_code([sku for sku, _ in quantities])
        for sku, quantity in quantities:
            if quantity <= 0:
                raise BusinessRuleViolation(f"{sku}: quantity must be positive")
        customer = (
            await CustomerRepository.of(uow).customer_for_email(sale.customer_email)
            if sale.customer_email
            else None
        )
        txn_id = uuid.uuid4()
        recorded = await Ledger.of(uow).apply(
            _counter_changes(
                principal,
                loc,
                skus,
                quantities,
                rules.counter_sale,
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
        if not await TillRepository.of(uow).add_pos_transaction(row):
            raise AlreadyExists("this till transaction is being recorded concurrently; retry")
        OrderRepository.of(uow).add_event(
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
        async with ctx.uow() as uow:
            stored = await TillRepository.of(uow).pos_transaction(loc.id, sale.client_txn_id)
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
    async with ctx.uow() as uow:
        loc = await CatalogueRepository.of(uow).location(data.location)
        replay = await _replay(uow, loc.id, data.client_txn_id, fingerprint)
        if replay is not None:
            return replay
        quantities = merge_lines([(x.sku, x.quantity) for x in data.lines])
        skus = await CatalogueRepository.of(uow).skus_by_code([sku for sku, _ in quantities])
        refund = sum(x.quantity * x.unit_price_minor for x in data.lines)
        customer_id = None
        if data.original_order_id is not None:
            order = await OrderRepository.of(uow).order(data.original_order_id, for_update=True)
            refund, _ = await take_back(uow, order, quantities)
            customer_id = order.customer_id
        await Ledger.of(uow).apply(
            _counter_changes(
                principal,
                loc,
                skus,
                quantities,
                rules.restock,
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
        if not await TillRepository.of(uow).add_pos_transaction(row):
            raise AlreadyExists("this till transaction is being recorded concurrently; retry")
        OrderRepository.of(uow).add_event(
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
    delta: Callable[[int], rules.Delta],
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
    existing = await TillRepository.of(uow).pos_transaction(location_id, client_txn_id)
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
