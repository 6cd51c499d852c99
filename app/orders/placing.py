"""Placing an order: reserve every line or nothing, then authorise the payment."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from app.inventory import hours
from app.inventory.queries import StockQueries
from app.inventory.repository import CatalogueRepository, LocationRef, SkuRef
from app.orders import ports
from app.orders.closing import _close
from app.orders.commands import NewOrder, ShipAddress
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRef, CustomerRepository
from app.orders.model import (
    REMOTE_CHANNELS,
    Fulfilment,
    OrderStatus,
    PricedLine,
    check_order_size,
    check_payable,
    check_unpaid_limit,
    merge_lines,
    order_total,
)
from app.orders.ports import PaymentFailed
from app.orders.repository import AllocationRow, LineRow, OrderRepository
from app.orders.reserving import _Plan, _reserve, _reserve_shipment, _with_alternatives
from app.orders.tables import Order
from app.orders.transitions import _notify_confirmed, _record_transition
from app.orders.views import OrderView, get_order, order_view
from app.platform.access import Channel, Permission, Principal
from app.platform.errors import (
    BusinessRuleViolation,
    InsufficientStock,
)
from app.platform.idempotency import store
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork

# Placing ------------------------------------------------------------------------------------
FirstStep = Callable[[UnitOfWork, uuid.UUID], Awaitable[None]]
"""Done first in the transaction that reserves an order's lines, given the new order's id: a
cart gives back the units it held for this order, so they are never free in between."""


async def place_order(
    ctx: OrderContext, principal: Principal, data: NewOrder, *, first: FirstStep | None = None
) -> OrderView:
    """Reserve every line or nothing, then open the payment authorisation."""
    principal.require(Permission.PLACE_ORDERS)
    channel = principal.order_channel(data.channel)
    lines = merge_lines(data.lines)
    if data.fulfilment is Fulfilment.PICKUP and not data.pickup_location:
        raise BusinessRuleViolation("a pickup order needs a location")
    check_order_size(lines, ctx.max_order_units)
    check_payable(channel, data.fulfilment, ctx.payments.remote_fulfilments)
    resumed = store.resuming()
    if resumed is not None and resumed.startswith("order:"):
        return await _finish_placing(ctx, principal, uuid.UUID(resumed.removeprefix("order:")))
    paid_at_counter = not ctx.payments.requires_authorisation
    order_id = uuid.uuid4()
    store.note_resource(f"order:{order_id}")
    try:
        view = await _reserve_and_record(
            ctx,
            principal,
            channel,
            data,
            lines,
            confirm_now=paid_at_counter,
            order_id=order_id,
            refuse_paused=True,
            first=first,
            answer=paid_at_counter,
        )
    except InsufficientStock as short:
        raise await _with_alternatives(ctx, data, lines, short) from None
    except hours.PickupPaused as paused:
        raise await _paused_with_alternatives(ctx, data, lines, paused) from None
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
    refuse_paused: bool = False,
    first: FirstStep | None = None,
    answer: bool = False,
) -> OrderView:
    """Reserve the lines and write the order in one transaction; `confirm_now` when no
    payment needs authorising (paid at the counter); `refuse_paused`: a pickup at a store
    that has paused pickups is refused (an order another storefront already took is not);
    `answer`: the view is the request's final result, so its idempotent response is stored
    in this same transaction."""
    order_id = order_id or uuid.uuid4()
    reference = f"order:{order_id}"
    async with ctx.uow() as uow:
        if first is not None:
            await first(uow, order_id)
        skus = await CatalogueRepository.of(uow).skus_by_code([sku for sku, _ in lines])
        # The customer first (its row lock, then the levels'; the same order on every path):
        # a level's lock is then held over as few statements as possible until the commit.
        customer = await _customer_for(
            uow, data, ctx.max_open_unpaid_orders if channel in REMOTE_CHANNELS else None
        )
        pickup: LocationRef | None = None
        due_at: datetime | None = None
        if data.fulfilment is Fulfilment.PICKUP:
            pickup = await CatalogueRepository.of(uow).location_ref(data.pickup_location or "")
            if pickup.kind != "store" or not pickup.pickup_enabled:
                raise BusinessRuleViolation(
                    f"{pickup.code} does not offer pickup", {"location": pickup.code}
                )
            due_at = await _pickup_due_at(uow, pickup, refuse_paused)
            plan = _Plan({sku: [(pickup.id, pickup.code, qty)] for sku, qty in lines})
            await _reserve(uow, principal, channel, plan, skus, reference)
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
            due_at=due_at,
            customer=customer,
        )
        view = order_view(
            order,
            order_lines,
            allocations,
            pickup.code if pickup else None,
            True,
            customer_name=data.name,
        )
        if answer:
            await store.answer_in(uow, view)
        await uow.commit()
    return view


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
    due_at: datetime | None = None,
    customer: CustomerRef | None = None,
) -> tuple[Order, list[LineRow], list[AllocationRow]]:
    """The order, its lines and allocations (returned as written, allocations in location
    then SKU order), and its first event; prices from the catalogue.
    `confirm_now` (no payment to authorise) confirms it before anything is written, so the
    order is inserted once rather than inserted and then updated. `customer`: found already
    (and checked against the unpaid limit); without it the customer is found or added by
    email, unchecked."""
    priced = [
        PricedLine(sku, qty, skus[sku].price_minor, skus[sku].currency)
        for sku, qty in merge_lines(data.lines)
    ]
    total, currency = order_total(priced)
    if customer is None:
        customer = await _customer_for(uow, data, None)
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
        due_at=due_at,
    )
    OrderRepository.of(uow).add_event(
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
        order.record_payment_status(ports.NOT_REQUIRED, now)
        order.confirm(now)
        _record_transition(
            uow, order, channel.value, principal.actor, "confirmed: payment at the counter"
        )
        _notify_confirmed(uow, order, customer)
    lines = [
        LineRow(skus[p.sku].id, p.sku, p.quantity, p.unit_price_minor, 0, name=skus[p.sku].name)
        for p in priced
    ]
    allocations = sorted(
        (
            AllocationRow(skus[sku].id, sku, location_id, code, qty)
            for sku, parts in plan.parts.items()
            for location_id, code, qty in parts
        ),
        key=lambda a: (a.location_id, a.sku_id),
    )
    await OrderRepository.of(uow).add_order(order, lines, allocations)
    return order, lines, allocations


async def _customer_for(uow: UnitOfWork, data: NewOrder, unpaid_limit: int | None) -> CustomerRef:
    """The order's customer, found or added by email; refused when `unpaid_limit` is given and
    they already have that many open unpaid orders (counted under the customer row's lock,
    which the upsert takes, so two racing orders of one email cannot both pass)."""
    customer = await CustomerRepository.of(uow).customer_for_email(
        data.email, data.name, data.phone
    )
    if unpaid_limit is not None:
        open_unpaid = await OrderRepository.of(uow).open_unpaid_orders(customer.id)
        check_unpaid_limit(open_unpaid, unpaid_limit)
    return customer


async def _pickup_due_at(
    uow: UnitOfWork, pickup: LocationRef, refuse_paused: bool
) -> datetime | None:
    """When the store promises the order ready (its pickup_ready_by now, pause aside); a
    paused store refuses it first when `refuse_paused`."""
    store = (await StockQueries.of(uow).pickup_hours([pickup.id]))[pickup.id]
    if store.paused and refuse_paused:
        raise hours.PickupPaused(
            f"{pickup.code} has paused pickups; nothing was reserved", {"location": pickup.code}
        )
    return hours.ready_at(utcnow(), store.hours, store.lead_minutes)


async def _paused_with_alternatives(
    ctx: OrderContext, data: NewOrder, lines: list[tuple[str, int]], paused: hours.PickupPaused
) -> hours.PickupPaused:
    """The 409 body of a paused store: each line with the nearby stores that have it."""
    every_line = InsufficientStock("", {"short": [{"sku": sku} for sku, _ in lines]})
    nearby = await _with_alternatives(ctx, data, lines, every_line)
    listed = [
        {key: value for key, value in line.items() if key != "available"}
        for line in nearby.details["lines"]
    ]
    return hours.PickupPaused(paused.message, {**paused.details, "lines": listed})


async def _authorise(ctx: OrderContext, view: OrderView, principal: Principal) -> OrderView:
    """Open the provider's authorisation for a recorded order. A refusal gives the stock back;
    an unreachable provider leaves the order waiting, so a retry with the same
    Idempotency-Key finishes it (and the expiry job releases it if nobody does)."""
    try:
        authorization = await ctx.payments.authorize(str(view.id), view.total_minor, view.currency)
    except PaymentFailed:
        await _close(ctx, view.id, "cancel", principal, reason="payment refused")
        raise
    async with ctx.uow() as uow:
        order = await OrderRepository.of(uow).order(view.id, for_update=True)
        order.attach_payment(
            authorization.intent_id, authorization.client_secret, authorization.status, utcnow()
        )
        authorised = order_view(
            order, view.lines, view.allocations, view.pickup_location, show_client_secret=True
        )
        await store.answer_in(uow, authorised)
        await uow.commit()
    return authorised


async def _finish_placing(
    ctx: OrderContext, principal: Principal, order_id: uuid.UUID
) -> OrderView:
    """A retry of a placement whose answer was lost: the order exists; open its payment if
    that never happened, and answer with it."""
    view = await get_order(ctx, principal, order_id, show_client_secret=True)
    if (
        view.status == OrderStatus.PENDING_PAYMENT
        and view.payment_intent_id is None
        and ctx.payments.requires_authorisation
    ):
        return await _authorise(ctx, view, principal)
    return view


def _order_number(channel: Channel) -> str:
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    suffix = "".join(alphabet[b % len(alphabet)] for b in uuid.uuid4().bytes[:8])
    return f"{channel.value[0].upper()}-{suffix}"


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
