"""Counter sales and returns: always accepted, idempotent by the till's transaction id."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from app.carts import completing
from app.inventory.changes import Change
from app.inventory.hours import local_to_utc
from app.inventory.ledger import Ledger, RecordedMovement
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey
from app.inventory.tables import Location
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import merge_lines
from app.orders.payment_actions import run_payment_actions
from app.orders.repository import OrderRepository
from app.orders.returns import ReturnedLine, damaged_units, take_back, write_off_damaged
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
    disposition: str = "restock"  # of a returned line: "damaged" is written off, not restocked


@dataclass(frozen=True, slots=True)
class CounterSale:
    client_txn_id: str
    location: str
    occurred_at: datetime  # without an offset: the store's wall clock
    lines: list[CounterLine]
    customer_email: str | None = None
    cart_id: uuid.UUID | None = None  # a cart completed by this sale: its hold is sold


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


def _as_sent(occurred_at: datetime) -> str:
    """The till's time as its fingerprint has it: one without an offset as it was
    fingerprinted before stores had time zones, so that a replay across that change still
    matches."""
    if occurred_at.utcoffset() is None:
        return occurred_at.replace(tzinfo=UTC).isoformat()
    return occurred_at.isoformat()


def _fingerprint(kind: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps([kind, payload], sort_keys=True, default=str).encode()
    ).hexdigest()


async def record_sale(ctx: OrderContext, principal: Principal, sale: CounterSale) -> PosResult:
    """Rule 2: the counter always wins. The sale is recorded even if it takes stock below
    what is promised to orders; those orders are then flagged and, if they ship, re-sourced.
    With a cart, the sale completes it: its held units are sold (rung up from the cart when
    the till sends no lines)."""
    payload = {
        "location": sale.location,
        "occurred_at": _as_sent(sale.occurred_at),
        "lines": [[x.sku, x.quantity, x.unit_price_minor] for x in sale.lines],
        "customer": sale.customer_email,
    } | ({"cart": str(sale.cart_id)} if sale.cart_id else {})
    left_out: list[str] = []
    if sale.cart_id is not None and not sale.lines:  # fingerprinted as sent: a retry replays
        principal.require(Permission.SELL_AT_COUNTER, at_location=sale.location)
        from_cart, left_out = await completing.lines_for_counter(ctx, sale.cart_id, sale.location)
        sale = replace(
            sale, lines=[CounterLine(x.sku, x.quantity, x.unit_price_minor) for x in from_cart]
        )

    async def settle(uow: UnitOfWork, loc: Location, quantities: list[tuple[str, int]]) -> _Settled:
        for sku, quantity in quantities:
            if quantity <= 0:
                raise BusinessRuleViolation(f"{sku}: quantity must be positive")
        take = (
            await completing.take_at_counter(
                uow, principal, sale.cart_id, loc.id, loc.code, sale.client_txn_id
            )
            if sale.cart_id
            else None
        )
        customer = (
            await CustomerRepository.of(uow).customer_for_email(sale.customer_email)
            if sale.customer_email
            else None
        )
        customer_id = customer.id if customer else take.customer_id if take else None
        total = sum(x.quantity * x.unit_price_minor for x in sale.lines)
        occurred_at = local_to_utc(sale.occurred_at, loc.timezone)
        return _Settled(
            {
                "occurred_at": occurred_at.isoformat(),
                "customer_id": str(customer_id) if customer_id else None,
                "total_minor": total,
                "lines": _lines_out(sale.lines),
                "at_risk_orders": [],
            }
            | (
                {"cart_id": str(sale.cart_id), "cart_code": take.code, "left_out": left_out}
                if take
                else {}
            ),
            customer_id=customer_id,
            total_minor=total,
            occurred_at=occurred_at,
            summary=f"bought {sum(q for _, q in quantities)} item(s) at {loc.name} for {total}",
            also=take.changes if take else [],
        )

    till = await _record(ctx, principal, _SALE, sale, payload, settle)
    if till.result.replayed:
        return till.result
    at_risk: list[AtRiskOrder] = []
    for m in till.movements:
        if m.level_after.on_hand < m.level_after.reserved:
            at_risk.extend(
                await resolve_shortage(ctx, m.change.key.location_id, m.change.key.sku_id)
            )
    if at_risk:
        body = till.result.body
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
            stored = await TillRepository.of(uow).pos_transaction(
                till.location_id, sale.client_txn_id
            )
            if stored is not None:
                stored.result = body
            await uow.commit()
    return till.result


async def record_sales(
    ctx: OrderContext, principal: Principal, sales: list[CounterSale]
) -> list[PosResult | DomainError]:
    """Offline replay: each sale on its own, in order; one failure does not stop the rest
    (a sale at another store than a POS key's is refused in its place). A role that may not
    sell at a counter at all is refused the whole batch."""
    principal.require_role(Permission.SELL_AT_COUNTER)
    results: list[PosResult | DomainError] = []
    for sale in sales:
        try:
            results.append(await record_sale(ctx, principal, sale))
        except DomainError as exc:
            results.append(exc)
    return results


async def record_return(ctx: OrderContext, principal: Principal, data: CounterReturn) -> PosResult:
    """Units come back over the counter: restock here; refund the order they came from."""
    payload = {
        "location": data.location,
        "order": str(data.original_order_id),
        # a restocked line is fingerprinted as before lines had a disposition, so a till's
        # retry of a return recorded before then is still a replay
        "lines": [
            [x.sku, x.quantity, x.unit_price_minor]
            + ([x.disposition] if x.disposition != "restock" else [])
            for x in data.lines
        ],
    }
    damaged = damaged_units([ReturnedLine(x.sku, x.quantity, x.disposition) for x in data.lines])

    async def settle(uow: UnitOfWork, loc: Location, quantities: list[tuple[str, int]]) -> _Settled:
        refund = sum(x.quantity * x.unit_price_minor for x in data.lines)
        customer_id = None
        if data.original_order_id is not None:
            order = await OrderRepository.of(uow).order(data.original_order_id, for_update=True)
            refund, _ = await take_back(uow, order, quantities)
            customer_id = order.customer_id
        order_id = data.original_order_id
        return _Settled(
            {
                "original_order_id": str(order_id) if order_id else None,
                "refund_minor": refund,
                "lines": [
                    {**line, "disposition": x.disposition}
                    for line, x in zip(_lines_out(data.lines), data.lines, strict=True)
                ],
            },
            customer_id=customer_id,
            total_minor=-refund,
            occurred_at=local_to_utc(data.occurred_at, loc.timezone)
            if data.occurred_at
            else utcnow(),
            summary=f"{sum(q for _, q in quantities)} item(s) returned at {loc.name}"
            + (f" ({sum(q for _, q in damaged)} damaged)" if damaged else "")
            + f"; refund {refund}",
            original_order_id=order_id,
            written_off=damaged,
        )

    till = await _record(ctx, principal, _RETURN, data, payload, settle)
    if not till.result.replayed and data.original_order_id is not None:
        await run_payment_actions(ctx, data.original_order_id)
    return till.result


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str  # of the till transaction
    event: str  # of the customer's history
    change: Callable[..., Change]  # what it does to the level of each line


_SALE = _Kind("sale", "pos_sale", Change.sell)

_RETURN = _Kind("return", "returned", Change.counter_return)


@dataclass(frozen=True, slots=True)
class _Settled:
    """What a sale or a return adds to the record every till transaction gets."""

    body: dict[str, Any]  # of the response, after the fields every kind has; with "lines"
    customer_id: uuid.UUID | None
    total_minor: int
    occurred_at: datetime
    summary: str  # of the event
    original_order_id: uuid.UUID | None = None
    written_off: list[tuple[str, int]] | None = None  # (sku, units) returned damaged
    also: list[Change] = field(default_factory=list)  # a completed cart's hold given back


@dataclass(frozen=True, slots=True)
class _Till:
    result: PosResult
    location_id: int
    movements: list[RecordedMovement]  # none on a replay


async def _record(
    ctx: OrderContext,
    principal: Principal,
    kind: _Kind,
    txn: CounterSale | CounterReturn,
    payload: dict[str, Any],
    settle: Callable[[UnitOfWork, Location, list[tuple[str, int]]], Awaitable[_Settled]],
) -> _Till:
    """Record a till transaction once per `client_txn_id` (a repeat gets the first answer):
    `settle` does what is particular to its kind; then its lines move stock, unguarded, for
    they happened, and the transaction and an event of the customer's history are written."""
    principal.require(Permission.SELL_AT_COUNTER, at_location=txn.location)
    if not txn.lines:
        raise BusinessRuleViolation(f"a {kind.name} needs at least one line")
    fingerprint = _fingerprint(kind.name, payload)
    async with ctx.uow() as uow:
        loc = await CatalogueRepository.of(uow).location(txn.location)
        replay = await _replay(uow, loc.id, txn.client_txn_id, fingerprint)
        if replay is not None:
            return _Till(replay, loc.id, [])
        quantities = merge_lines([(x.sku, x.quantity) for x in txn.lines])
        skus = await CatalogueRepository.of(uow).skus_by_code([sku for sku, _ in quantities])
        settled = await settle(uow, loc, quantities)
        changes = (
            [
                kind.change(
                    LevelKey(loc.id, skus[sku].id),
                    quantity,
                    principal,
                    sku=sku,
                    location=loc.code,
                    reference=f"pos:{txn.client_txn_id}",
                )
                for sku, quantity in quantities
            ]
            + [
                write_off_damaged(
                    LevelKey(loc.id, skus[sku].id),
                    quantity,
                    principal,
                    sku=sku,
                    location=loc.code,
                    reference=f"pos:{txn.client_txn_id}",
                )
                for sku, quantity in settled.written_off or []
            ]
            + settled.also
        )
        movements = await Ledger.of(uow).apply(sorted(changes, key=lambda c: c.key))
        txn_id = uuid.uuid4()
        body = {
            "id": str(txn_id),
            "client_txn_id": txn.client_txn_id,
            "kind": kind.name,
            "location": loc.code,
            **settled.body,
        }
        row = PosTransaction(
            id=txn_id,
            kind=kind.name,
            location_id=loc.id,
            client_txn_id=txn.client_txn_id,
            request_hash=fingerprint,
            customer_id=settled.customer_id,
            original_order_id=settled.original_order_id,
            lines=body["lines"],
            total_minor=settled.total_minor,
            occurred_at=settled.occurred_at,
            recorded_at=utcnow(),
            actor=principal.actor,
            result=body,
        )
        if not await TillRepository.of(uow).add_pos_transaction(row):
            raise AlreadyExists("this till transaction is being recorded concurrently; retry")
        OrderRepository.of(uow).add_event(
            event=kind.event,
            channel=principal.channel.value,
            actor=principal.actor,
            customer_id=settled.customer_id,
            order_id=settled.original_order_id,
            location_id=loc.id,
            pos_transaction_id=txn_id,
            summary=settled.summary,
        )
        await uow.commit()
    return _Till(PosResult(body, replayed=False), loc.id, movements)


def _lines_out(lines: list[CounterLine]) -> list[dict[str, Any]]:
    return [
        {"sku": x.sku, "quantity": x.quantity, "unit_price_minor": x.unit_price_minor}
        for x in lines
    ]


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
