"""Use cases of the order book: place, pay, prepare, hand over, ship, cancel, expire, return.

Stock moves through the ledger in the same transaction as the order change. Payment calls
happen outside any stock transaction: authorise after the reservation commits (compensating
if the provider refuses), capture before the units leave, cancel and refund through the
`payment_actions` outbox so a lost call is retried, never forgotten.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from app.db import idempotency
from app.db.catalogue import LocationRef, SkuRef
from app.db.ledger import Change, LevelKey
from app.db.models import Location, utcnow
from app.db.order_models import Order, OrderReturn
from app.db.orders import AllocationRow, LineRow
from app.db.session import UnitOfWork
from app.domain import geo, payments, sourcing, stock
from app.domain.access import Channel, Permission, Principal, Role
from app.domain.errors import (
    BusinessRuleViolation,
    DomainError,
    Forbidden,
    InsufficientStock,
    InvalidTransition,
    NotFound,
)
from app.domain.orders import (
    OPEN_STATUSES,
    Fulfilment,
    OrderStatus,
    PricedLine,
    after_failed_attempt,
    code_attempt_allowed,
    hash_pickup_code,
    is_expired,
    merge_lines,
    new_pickup_code,
    next_status,
    order_total,
    pickup_code_matches,
    returnable,
)
from app.domain.payments import PaymentEvent, PaymentFailed, PaymentProvider
from app.domain.stock import Guard, MovementKind, Quantities

log = structlog.get_logger("omnistock.orders")

ALTERNATIVES_RADIUS_KM = 50.0
MAX_ALTERNATIVES = 5
SOURCING_ATTEMPTS = 3


class InvalidPickupCode(DomainError):
    code = "invalid_pickup_code"


class TooManyAttempts(DomainError):
    code = "rate_limited"


@dataclass(frozen=True)
class OrderContext:
    """What the order use cases need besides a unit of work."""

    new_uow: Callable[..., UnitOfWork]  # new_uow(readonly=True) for reads only
    payments: PaymentProvider
    payment_timeout: timedelta = timedelta(seconds=900)
    pickup_hold: timedelta = timedelta(hours=168)
    warehouses_first: bool = True


@dataclass(frozen=True, slots=True)
class ShipAddress:
    line1: str
    city: str
    postal_code: str
    country: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class NewOrder:
    email: str
    lines: list[tuple[str, int]]
    fulfilment: Fulfilment
    pickup_location: str | None = None
    address: ShipAddress | None = None
    name: str | None = None
    phone: str | None = None
    notes: str | None = None
    channel: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderView:
    order: Order
    lines: list[LineRow]
    allocations: list[AllocationRow]
    pickup_location: str | None
    show_client_secret: bool = False


@dataclass(slots=True)
class AtRiskOrder:
    order_id: uuid.UUID
    number: str
    fulfilment: str
    resolved: bool
    detail: str


@dataclass(slots=True)
class _Plan:
    """Reservations chosen for a new order: sku -> [(location_id, location_code, qty)]."""

    parts: dict[str, list[tuple[int, str, int]]] = field(default_factory=dict)


# Placing ------------------------------------------------------------------------------------
async def place_order(ctx: OrderContext, principal: Principal, data: NewOrder) -> OrderView:
    """Reserve every line or nothing, then open the payment authorisation."""
    principal.require(Permission.PLACE_ORDERS)
    channel = principal.order_channel(data.channel)
    lines = merge_lines(data.lines)
    if data.fulfilment is Fulfilment.PICKUP and not data.pickup_location:
        raise BusinessRuleViolation("a pickup order needs a location")
    resumed = idempotency.resuming()
    if resumed is not None and resumed.startswith("order:"):
        return await _finish_placing(ctx, principal, uuid.UUID(resumed.removeprefix("order:")))
    paid_at_counter = not ctx.payments.requires_authorisation
    order_id = uuid.uuid4()
    idempotency.note_resource(f"order:{order_id}")
    try:
        view = await _reserve_and_record(
            ctx, principal, channel, data, lines, confirm_now=paid_at_counter, order_id=order_id
        )
    except InsufficientStock as short:
        raise await _with_alternatives(ctx, data, lines, short) from None
    if paid_at_counter:
        return view
    return await _authorise(ctx, view, principal)


async def _reserve_and_record(
    ctx: OrderContext,
    principal: Principal,
    channel: Channel,
    data: NewOrder,
    lines: list[tuple[str, int]],
    confirm_now: bool = False,
    order_id: uuid.UUID | None = None,
) -> OrderView:
    """Reserve the lines and write the order in one transaction; `confirm_now` when no
    payment needs authorising (paid at the counter)."""
    order_id = order_id or uuid.uuid4()
    reference = f"order:{order_id}"
    async with ctx.new_uow() as uow:
        skus = await uow.catalogue.skus_by_code([sku for sku, _ in lines])
        pickup: LocationRef | None = None
        if data.fulfilment is Fulfilment.PICKUP:
            pickup = await uow.catalogue.location_ref(data.pickup_location or "")
            if pickup.kind != "store" or not pickup.pickup_enabled:
                raise BusinessRuleViolation(
                    f"{pickup.code} does not offer pickup", {"location": pickup.code}
                )
            plan = _Plan({sku: [(pickup.id, pickup.code, qty)] for sku, qty in lines})
            await _reserve(uow, principal, channel, plan, skus, reference, check_first=True)
        else:
            plan = await _reserve_shipment(
                ctx, uow, principal, channel, lines, skus, data, reference
            )
        order, order_lines, allocations = await _insert_order(
            uow,
            order_id,
            principal,
            channel,
            data,
            skus,
            plan,
            pickup,
            ctx.payments.name,
            confirm_now=confirm_now,
        )
        await uow.commit()
        return OrderView(
            order,
            order_lines,
            allocations,
            pickup.code if pickup else None,
            show_client_secret=True,
        )


async def _insert_order(
    uow: UnitOfWork,
    order_id: uuid.UUID,
    principal: Principal,
    channel: Channel,
    data: NewOrder,
    skus: dict[str, SkuRef],
    plan: _Plan,
    pickup: LocationRef | None,
    payment_provider: str = "offline",
    *,
    confirm_now: bool = False,
) -> tuple[Order, list[LineRow], list[AllocationRow]]:
    """The order, its lines and allocations (returned as written, allocations in location
    then SKU order), and its first event; prices from the catalogue.
    `confirm_now` (no payment to authorise) confirms it before anything is written, so the
    order is inserted once rather than inserted and then updated."""
    priced = [
        PricedLine(sku, qty, skus[sku].price_minor, skus[sku].currency)
        for sku, qty in merge_lines(data.lines)
    ]
    total, currency = order_total(priced)
    customer = await uow.orders.customer_for_email(data.email, data.name, data.phone)
    now = utcnow()
    order = Order(
        id=order_id,
        number=_order_number(channel),
        channel=channel.value,
        status=OrderStatus.PENDING_PAYMENT.value,
        at_risk=False,
        customer_id=customer.id,
        fulfilment_type=data.fulfilment.value,
        pickup_location_id=pickup.id if pickup else None,
        ship_address=_address_json(data.address),
        notes=data.notes,
        total_minor=total,
        currency=currency,
        payment_provider=payment_provider,
        payment_status="pending",
        failed_code_attempts=0,
        external_id=data.external_id,
        created_by=principal.actor,
        created_at=now,
        updated_at=now,
    )
    uow.orders.add_event(
        event="placed",
        channel=channel.value,
        actor=principal.actor,
        order_id=order.id,
        customer_id=customer.id,
        location_id=pickup.id if pickup else None,
        summary=f"{order.number}: {sum(p.quantity for p in priced)} item(s) for "
        f"{data.fulfilment.value}, {total} {currency}",
    )
    if confirm_now:
        order.payment_status = payments.NOT_REQUIRED
        _transition(
            uow,
            order,
            "confirm",
            channel.value,
            principal.actor,
            "confirmed: payment at the counter",
        )
        _notify_confirmed(uow, order, customer)
    lines = [LineRow(skus[p.sku].id, p.sku, p.quantity, p.unit_price_minor, 0) for p in priced]
    allocations = sorted(
        (
            AllocationRow(skus[sku].id, sku, location_id, code, qty)
            for sku, parts in plan.parts.items()
            for location_id, code, qty in parts
        ),
        key=lambda a: (a.location_id, a.sku_id),
    )
    await uow.orders.add_order(order, lines, allocations)
    return order, lines, allocations


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
            delta=stock.reservation(qty),
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
        _refuse_if_short(changes, await uow.ledger.peek(keys))
    _refuse_if_short(changes, await uow.ledger.lock(keys, create_missing=False))
    await uow.ledger.apply(changes)


def _refuse_if_short(changes: list[Change], levels: dict[LevelKey, Quantities]) -> None:
    shortages = []
    for change in changes:  # report every short line, not just the first
        try:
            stock.check_guard(
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
        stock_rows = await uow.orders.stock_for([s.id for s in skus.values()], ship_enabled=True)
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
            async with uow.session.begin_nested():
                await _reserve(uow, principal, channel, plan, skus, reference)
            return plan
        except InsufficientStock:
            uow.ledger.forget_locks()
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
    async with ctx.new_uow(readonly=True) as uow:
        skus = await uow.catalogue.skus_by_code(short_skus)
        origin: tuple[float, float] | None = None
        if data.fulfilment is Fulfilment.PICKUP and data.pickup_location:
            pickup = await uow.catalogue.location_ref(data.pickup_location)
            origin = (pickup.latitude, pickup.longitude)
        elif (
            data.address
            and data.address.latitude is not None
            and data.address.longitude is not None
        ):
            origin = (data.address.latitude, data.address.longitude)
        rows = await uow.orders.stock_for([s.id for s in skus.values()], pickup_stores=True)
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


async def _authorise(ctx: OrderContext, view: OrderView, principal: Principal) -> OrderView:
    """Open the provider's authorisation for a recorded order. A refusal gives the stock back;
    an unreachable provider leaves the order waiting, so a retry with the same
    Idempotency-Key finishes it (and the expiry job releases it if nobody does)."""
    order = view.order
    try:
        authorization = await ctx.payments.authorize(
            str(order.id), order.total_minor, order.currency
        )
    except PaymentFailed:
        await _close(ctx, order.id, "cancel", principal, reason="payment refused")
        raise
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order.id, for_update=True)
        order.payment_intent_id = authorization.intent_id
        order.payment_client_secret = authorization.client_secret
        order.payment_status = authorization.status
        order.updated_at = utcnow()
        await uow.commit()
    return OrderView(
        order, view.lines, view.allocations, view.pickup_location, show_client_secret=True
    )


async def _finish_placing(
    ctx: OrderContext, principal: Principal, order_id: uuid.UUID
) -> OrderView:
    """A retry of a placement whose answer was lost: the order exists; open its payment if
    that never happened, and answer with it."""
    view = await get_order(ctx, principal, order_id, show_client_secret=True)
    if (
        view.order.status == OrderStatus.PENDING_PAYMENT
        and view.order.payment_intent_id is None
        and ctx.payments.requires_authorisation
    ):
        return await _authorise(ctx, view, principal)
    return view


# Reading ------------------------------------------------------------------------------------
async def get_order(
    ctx: OrderContext, principal: Principal, order_id: uuid.UUID, show_client_secret: bool = False
) -> OrderView:
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order_id)
        if not principal.may_see_order(order.channel):
            raise NotFound(f"order {order_id} not found", {"order_id": str(order_id)})
        return await _view(uow, order, show_client_secret or principal.role is not Role.POS)


async def list_orders(
    ctx: OrderContext,
    principal: Principal,
    *,
    status: str | None,
    location: str | None,
    customer_email: str | None,
    channel: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[OrderView]:
    if principal.role in (Role.STOREFRONT, Role.MOBILE):
        if channel not in (None, principal.channel.value):
            return []
        channel = principal.channel.value
    async with ctx.new_uow() as uow:
        location_id = (await uow.catalogue.location(location)).id if location else None
        customer_id = None
        if customer_email:
            customer = await uow.orders.customer_by_email(customer_email)
            if customer is None:
                return []
            customer_id = customer.id
        orders = await uow.orders.list_orders(
            status=status,
            location_id=location_id,
            customer_id=customer_id,
            channel=channel,
            after=after,
            limit=limit,
        )
        return [await _view(uow, o, False) for o in orders]


async def pickup_queue(
    ctx: OrderContext, principal: Principal, location: str, statuses: list[str]
) -> list[OrderView]:
    principal.require(Permission.WORK_PICKUPS, at_location=location)
    async with ctx.new_uow() as uow:
        loc = await uow.catalogue.location(location)
        orders = await uow.orders.pickup_queue(loc.id, statuses)
        return [await _view(uow, o, False) for o in orders]


async def _view(uow: UnitOfWork, order: Order, show_client_secret: bool) -> OrderView:
    pickup = None
    if order.pickup_location_id is not None:
        pickup = (await uow.catalogue.locations_by_id([order.pickup_location_id]))[
            order.pickup_location_id
        ].code
    return OrderView(
        order,
        await uow.orders.lines(order.id),
        await uow.orders.allocations(order.id),
        pickup,
        show_client_secret,
    )


# Payment webhooks ---------------------------------------------------------------------------
async def apply_payment_event(ctx: OrderContext, event: PaymentEvent) -> str:
    """Confirm or release the order behind a provider event. Events may come twice or out of
    order, so the PaymentIntent's current status decides, not the event's type."""
    if event.intent_id is None:
        return "ignored"
    status = await ctx.payments.status(event.intent_id)
    async with ctx.new_uow() as uow:
        if not await uow.orders.mark_webhook_processed(ctx.payments.name, event.id, event.type):
            return "duplicate"
        order = await uow.orders.order_by_intent(event.intent_id)
        if order is None:
            await uow.commit()
            return "unknown payment"
        outcome = "no change"
        order.payment_status = status
        if order.status == OrderStatus.PENDING_PAYMENT:
            if status == payments.AUTHORISED:
                _transition(
                    uow, order, "confirm", Channel.SYSTEM.value, "stripe", "payment authorised"
                )
                _notify_confirmed(uow, order, await uow.orders.customer(order.customer_id))
                outcome = "confirmed"
            elif status == payments.CANCELED or event.type == "payment_intent.payment_failed":
                await _release_all(
                    uow,
                    order,
                    "cancel",
                    Channel.SYSTEM.value,
                    "stripe",
                    "payment failed or was cancelled",
                )
                outcome = "released"
        order.updated_at = utcnow()
        await uow.commit()
        return outcome


# Staff actions ------------------------------------------------------------------------------
async def mark_ready(ctx: OrderContext, principal: Principal, order_id: uuid.UUID) -> OrderView:
    """The order is picked and waiting at the counter; the customer gets a pickup code."""
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order_id, for_update=True)
        location = await _pickup_location(uow, order)
        principal.require(Permission.WORK_PICKUPS, at_location=location.code)
        _transition(
            uow,
            order,
            "ready",
            principal.channel.value,
            principal.actor,
            f"ready for pickup at {location.name}",
            location.id,
        )
        code = new_pickup_code()
        order.pickup_code_hash = hash_pickup_code(code)
        order.failed_code_attempts = 0
        order.code_locked_until = None
        order.ready_at = utcnow()
        customer = await uow.orders.customer(order.customer_id)
        uow.orders.add_notification(
            order_id=order.id,
            kind="ready_for_pickup",
            to=customer.email,
            subject=f"Order {order.number} is ready for pickup",
            body=(
                f"Your order {order.number} is ready at {location.name}. "
                f"Show this pickup code at the counter: {code}"
            ),
        )
        await uow.commit()
        return await _view(uow, order, False)


async def hand_over(
    ctx: OrderContext, principal: Principal, order_id: uuid.UUID, pickup_code: str
) -> OrderView:
    """The customer collects: check the code, capture the payment, take the units."""
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order_id, for_update=True)
        location = await _pickup_location(uow, order)
        if principal.role is not Role.POS:
            raise Forbidden("handover is done by a POS key of the pickup store")
        principal.require(Permission.WORK_PICKUPS, at_location=location.code)
        next_status("pickup", order.status, order.fulfilment_type)
        now = utcnow()
        if not code_attempt_allowed(order.code_locked_until, now):
            raise TooManyAttempts(
                "too many wrong pickup codes; try again later",
                {
                    "retry_after": order.code_locked_until.isoformat()
                    if order.code_locked_until
                    else None
                },
            )
        if not pickup_code_matches(pickup_code, order.pickup_code_hash):
            order.failed_code_attempts, order.code_locked_until = after_failed_attempt(
                order.failed_code_attempts, now
            )
            uow.orders.add_event(
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
        intent_id = order.payment_intent_id
    await _capture(ctx, order_id, intent_id)
    return await _take_units(ctx, principal, order_id, "pickup", f"picked up at {location.name}")


async def ship(ctx: OrderContext, principal: Principal, order_id: uuid.UUID) -> OrderView:
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order_id)
        allocations = await uow.orders.allocations(order_id)
        locations = {a.location for a in allocations}
        principal.require(
            Permission.WORK_PICKUPS, at_location=locations.pop() if len(locations) == 1 else None
        )
        next_status("ship", order.status, order.fulfilment_type)
        intent_id = order.payment_intent_id
    await _capture(ctx, order_id, intent_id)
    return await _take_units(ctx, principal, order_id, "ship", "shipped")


async def _capture(ctx: OrderContext, order_id: uuid.UUID, intent_id: str | None) -> None:
    if intent_id is None:
        return
    status = await ctx.payments.capture(str(order_id), intent_id)
    if status != payments.CAPTURED:
        raise PaymentFailed(f"the payment could not be captured ({status})")


async def _take_units(
    ctx: OrderContext, principal: Principal, order_id: uuid.UUID, action: str, summary: str
) -> OrderView:
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order_id, for_update=True)
        _transition(
            uow,
            order,
            action,
            principal.channel.value,
            principal.actor,
            summary,
            order.pickup_location_id,
        )
        allocations = await uow.orders.allocations(order_id)
        await uow.ledger.apply(
            [
                Change(
                    key=LevelKey(a.location_id, a.sku_id),
                    delta=stock.handover(a.quantity),
                    kind=MovementKind.HANDOVER.value,
                    guard=Guard.NONE,
                    channel=principal.channel.value,
                    actor=principal.actor,
                    sku=a.sku,
                    location=a.location,
                    reference=f"order:{order_id}",
                )
                for a in allocations
            ]
        )
        order.payment_status = (
            payments.CAPTURED if order.payment_intent_id else order.payment_status
        )
        order.closed_at = order.updated_at = utcnow()
        order.pickup_code_hash = None
        await uow.commit()
        return await _view(uow, order, False)


async def cancel(ctx: OrderContext, principal: Principal, order_id: uuid.UUID) -> OrderView:
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order_id)
        if principal.role in (Role.STOREFRONT, Role.MOBILE):
            principal.require(Permission.PLACE_ORDERS)
            if not principal.may_see_order(order.channel):
                raise NotFound(f"order {order_id} not found")
        elif principal.role is not Role.ADMIN:
            raise Forbidden("only the ordering channel or an admin may cancel an order")
    await _close(ctx, order_id, "cancel", principal, reason="cancelled")
    await run_payment_actions(ctx, order_id)
    return await get_order(ctx, principal, order_id)


async def _close(
    ctx: OrderContext, order_id: uuid.UUID, action: str, principal: Principal, reason: str
) -> None:
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order_id, for_update=True)
        await _release_all(uow, order, action, principal.channel.value, principal.actor, reason)
        await uow.commit()


async def _release_all(
    uow: UnitOfWork, order: Order, action: str, channel: str, actor: str, reason: str
) -> None:
    """Cancel or expire: give the reserved units back and owe the provider a cancel."""
    _transition(uow, order, action, channel, actor, reason)
    allocations = await uow.orders.allocations(order.id)
    await uow.ledger.apply(
        [
            Change(
                key=LevelKey(a.location_id, a.sku_id),
                delta=stock.release(a.quantity),
                kind=MovementKind.RELEASE.value,
                guard=Guard.NONE,
                channel=channel,
                actor=actor,
                sku=a.sku,
                location=a.location,
                reference=f"order:{order.id}",
            )
            for a in allocations
        ]
    )
    order.closed_at = order.updated_at = utcnow()
    order.pickup_code_hash = None
    if order.payment_intent_id:
        uow.orders.add_payment_action(order_id=order.id, action="cancel")
    customer = await uow.orders.customer(order.customer_id)
    if action == "expire":
        uow.orders.add_notification(
            order_id=order.id,
            kind="expired",
            to=customer.email,
            subject=f"Order {order.number} has expired",
            body=f"Your order {order.number} was not {_missed(order)} in time and has been "
            "released. Nothing has been charged.",
        )


# Expiry -------------------------------------------------------------------------------------
async def expire_due_orders(
    ctx: OrderContext, now: datetime | None = None, batch: int = 200
) -> int:
    """Release unpaid and uncollected orders. Safe to run in several workers at once: each
    order is taken under a row lock that others skip, and re-checked under it."""
    now = now or utcnow()
    system = Principal("system", "expiry", Role.ADMIN)
    async with ctx.new_uow() as uow:
        candidates = await uow.orders.expiry_candidates(
            now - ctx.payment_timeout, now - ctx.pickup_hold, batch
        )
    expired = 0
    for order_id in candidates:
        async with ctx.new_uow() as uow:
            try:
                order = await uow.orders.order(order_id, for_update=True, skip_locked=True)
            except NotFound:
                continue  # another worker holds it, or it is gone
            if not is_expired(
                order.status,
                order.fulfilment_type,
                order.created_at,
                order.confirmed_at,
                order.ready_at,
                now,
                ctx.payment_timeout,
                ctx.pickup_hold,
            ):
                continue
            await _release_all(
                uow,
                order,
                "expire",
                Channel.SYSTEM.value,
                system.actor,
                "expired: not paid in time"
                if order.status == OrderStatus.PENDING_PAYMENT
                else "expired: not collected",
            )
            await uow.commit()
            expired += 1
    if expired:
        await run_payment_actions(ctx, None)
    return expired


# Returns ------------------------------------------------------------------------------------
async def return_order(
    ctx: OrderContext,
    principal: Principal,
    order_id: uuid.UUID,
    location: str,
    lines: list[tuple[str, int]],
) -> OrderView:
    """Any store takes back any order: restock where returned, refund what came back."""
    principal.require(Permission.SELL_AT_COUNTER, at_location=location)
    lines = merge_lines(lines)
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order_id, for_update=True)
        loc = await uow.catalogue.location(location)
        refund, sku_ids = await take_back(uow, order, lines)
        changes = [
            Change(
                key=LevelKey(loc.id, sku_ids[sku]),
                delta=stock.restock(quantity),
                kind=MovementKind.RETURN.value,
                guard=Guard.NONE,
                channel=principal.channel.value,
                actor=principal.actor,
                sku=sku,
                location=loc.code,
                reference=f"order:{order_id}",
            )
            for sku, quantity in lines
        ]
        await uow.ledger.apply(sorted(changes, key=lambda c: c.key))
        uow.orders.add_return(
            OrderReturn(
                id=uuid.uuid4(),
                order_id=order_id,
                location_id=loc.id,
                actor=principal.actor,
                lines=[{"sku": s, "quantity": q} for s, q in lines],
                refund_minor=refund,
                created_at=utcnow(),
            )
        )
        uow.orders.add_event(
            event="returned",
            channel=principal.channel.value,
            actor=principal.actor,
            order_id=order_id,
            customer_id=order.customer_id,
            location_id=loc.id,
            summary=f"{sum(q for _, q in lines)} item(s) returned at "
            f"{loc.name}; refund {refund} {order.currency}",
        )
        customer = await uow.orders.customer(order.customer_id)
        uow.orders.add_notification(
            order_id=order_id,
            kind="refunded",
            to=customer.email,
            subject=f"Refund for order {order.number}",
            body=f"We received your return at {loc.name} and refunded {refund / 100:.2f} "
            f"{order.currency}.",
        )
        order.updated_at = utcnow()
        await uow.commit()
    await run_payment_actions(ctx, order_id)
    return await get_order(ctx, principal, order_id)


async def take_back(
    uow: UnitOfWork, order: Order, lines: list[tuple[str, int]]
) -> tuple[int, dict[str, int]]:
    """Record units of a collected or shipped order as returned and owe the customer their
    price: (refund in minor units, sku -> sku id). The caller restocks where returned."""
    if order.status not in (OrderStatus.PICKED_UP, OrderStatus.SHIPPED):
        raise InvalidTransition(
            f"only picked up or shipped orders can be returned (this one is {order.status})",
            {"status": order.status},
        )
    ordered = {line.sku: line for line in await uow.orders.lines(order.id)}
    refund = 0
    for sku, quantity in lines:
        line = ordered.get(sku)
        if line is None:
            raise BusinessRuleViolation(f"{sku} is not part of order {order.number}")
        returnable(line.quantity, line.returned_quantity, quantity, sku)
        await uow.orders.set_returned(order.id, line.sku_id, line.returned_quantity + quantity)
        refund += quantity * line.unit_price_minor
    if order.payment_intent_id and refund:
        uow.orders.add_payment_action(order_id=order.id, action="refund", amount_minor=refund)
    return refund, {sku: line.sku_id for sku, line in ordered.items()}


# Payment outbox -----------------------------------------------------------------------------
async def run_payment_actions(
    ctx: OrderContext, order_id: uuid.UUID | None, limit: int = 100
) -> int:
    """Carry out owed cancels and refunds; what fails stays pending for the next sweep."""
    async with ctx.new_uow() as uow:
        ids = await uow.orders.pending_payment_action_ids(order_id, limit)
    done = 0
    for action_id in ids:
        async with ctx.new_uow() as uow:
            action = await uow.orders.payment_action(action_id)
            if action is None or action.status != "pending":
                continue
            order = await uow.orders.order(action.order_id)
            intent_id = order.payment_intent_id
            try:
                if intent_id is None:
                    result = "nothing to do"
                elif action.action == "cancel":
                    result = await ctx.payments.cancel(str(order.id), intent_id)
                    order.payment_status = result
                else:
                    result = await ctx.payments.refund(
                        str(action.id), intent_id, action.amount_minor or 0
                    )
                    order.payment_status = "refunded"
            except DomainError as exc:
                action.attempts += 1
                action.last_error = exc.message[:500]
                log.warning(
                    "payment action failed",
                    action=action.action,
                    order_id=str(order.id),
                    error=exc.message,
                )
            else:
                action.status, action.done_at = "done", utcnow()
                action.attempts += 1
                done += 1
                log.info(
                    "payment action done",
                    action=action.action,
                    result=result,
                    order_id=str(order.id),
                )
            await uow.commit()
    return done


# Helpers ------------------------------------------------------------------------------------
def _transition(
    uow: UnitOfWork,
    order: Order,
    action: str,
    channel: str,
    actor: str,
    summary: str,
    location_id: int | None = None,
) -> None:
    target = next_status(action, order.status, order.fulfilment_type)
    order.status = target.value
    now = utcnow()
    order.updated_at = now
    if target is OrderStatus.CONFIRMED:
        order.confirmed_at = now
    uow.orders.add_event(
        event=target.value,
        channel=channel,
        actor=actor,
        order_id=order.id,
        customer_id=order.customer_id,
        location_id=location_id,
        summary=f"{order.number}: {summary}",
    )


def _notify_confirmed(uow: UnitOfWork, order: Order, customer: Any) -> None:
    uow.orders.add_notification(
        order_id=order.id,
        kind="confirmed",
        to=customer.email,
        subject=f"Order {order.number} confirmed",
        body=f"Thank you. Order {order.number} ({order.total_minor / 100:.2f} "
        f"{order.currency}) is confirmed.",
    )


async def _pickup_location(uow: UnitOfWork, order: Order) -> Location:
    if order.pickup_location_id is None:
        raise BusinessRuleViolation("this order is shipped, not picked up")
    return (await uow.catalogue.locations_by_id([order.pickup_location_id]))[
        order.pickup_location_id
    ]


def _missed(order: Order) -> str:
    return "paid" if order.confirmed_at is None else "collected"


def _order_number(channel: Channel) -> str:
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    suffix = "".join(alphabet[b % len(alphabet)] for b in uuid.uuid4().bytes[:8])
    return f"{channel.value[0].upper()}-{suffix}"


def _distance(address: ShipAddress | None, row: Any) -> float | None:
    if address is None or address.latitude is None or address.longitude is None:
        return None
    return geo.distance_km(address.latitude, address.longitude, row.latitude, row.longitude)


def _address_json(address: ShipAddress | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "line1": address.line1,
        "city": address.city,
        "postal_code": address.postal_code,
        "country": address.country,
        "latitude": address.latitude,
        "longitude": address.longitude,
    }


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
    async with ctx.new_uow() as uow:
        existing = await uow.orders.order_by_external_id(channel, external_id)
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
            order_id = (
                await _reserve_and_record(ctx, system, Channel(channel), data, known)
            ).order.id
        short: dict[str, Any] | None = None
    except InsufficientStock as exc:
        order_id = await _record_unreserved(ctx, system, Channel(channel), data)
        short = exc.details
    async with ctx.new_uow() as uow:
        order = await uow.orders.order(order_id, for_update=True)
        order.payment_provider, order.payment_status = channel, "paid_externally"
        if order.status == OrderStatus.PENDING_PAYMENT:
            _transition(uow, order, "confirm", channel, system.actor, f"paid on {channel}")
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
            order.at_risk = True
            uow.orders.add_event(
                event="at_risk",
                channel=channel,
                actor=system.actor,
                order_id=order.id,
                customer_id=order.customer_id,
                summary=f"{order.number}: " + "; ".join(problems),
            )
        await uow.commit()
        log.info(
            "external order recorded",
            channel=channel,
            external_id=external_id,
            order=order.number,
            at_risk=order.at_risk,
        )
        return await _view(uow, order, False)


async def cancel_external_order(
    ctx: OrderContext, *, channel: str, external_id: str, reason: str | None = None
) -> OrderView | None:
    """The storefront cancelled its order: release what it holds. Repeats change nothing."""
    system = Principal("system", channel, Role.ADMIN)
    async with ctx.new_uow() as uow:
        order = await uow.orders.order_by_external_id(channel, external_id)
        if order is None:
            return None
        if order.status not in OPEN_STATUSES:
            return await _view(uow, order, False)
        order = await uow.orders.order(order.id, for_update=True)
        await _release_all(
            uow,
            order,
            "cancel",
            channel,
            system.actor,
            f"cancelled on {channel}" + (f": {reason}" if reason else ""),
        )
        await uow.commit()
        return await _view(uow, order, False)


async def _split_known_skus(
    ctx: OrderContext, lines: list[tuple[str, int]]
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    async with ctx.new_uow() as uow:
        found = await uow.catalogue.existing_skus([sku for sku, _ in lines])
    return (
        [line for line in lines if line[0] in found],
        [line for line in lines if line[0] not in found],
    )


async def _record_at_location(
    ctx: OrderContext, principal: Principal, channel: Channel, data: NewOrder, location: str
) -> uuid.UUID:
    """Reserve every line at the storefront location that fulfils the order."""
    order_id = uuid.uuid4()
    async with ctx.new_uow() as uow:
        loc = await uow.catalogue.location(location)
        skus = await uow.catalogue.skus_by_code([sku for sku, _ in data.lines])
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
    async with ctx.new_uow() as uow:
        skus = await uow.catalogue.skus_by_code([sku for sku, _ in data.lines])
        await _insert_order(
            uow, order_id, principal, channel, data, skus, _Plan(), None, channel.value
        )
        await uow.commit()
    return order_id


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text)[-60:]
