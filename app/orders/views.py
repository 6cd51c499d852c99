"""Reading orders."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.inventory.repository import CatalogueRepository
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.repository import AllocationRow, LineRow, OrderRepository
from app.orders.search_repository import OrderSearch, OrderSearchRepository
from app.orders.tables import Order
from app.platform.access import Permission, Principal, Role
from app.platform.errors import Forbidden, NotFound
from app.platform.uow import UnitOfWork
from app.platform.views import view_of


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as callers see it: plain data, built inside the transaction that read the
    order (`order_view`), never an ORM row. `show_client_secret` is the use case's word on
    whether the payment's client secret may be shown to this caller."""

    id: uuid.UUID
    number: str
    channel: str
    status: str
    at_risk: bool
    customer_id: uuid.UUID
    fulfilment_type: str
    pickup_location: str | None
    ship_address: dict[str, Any] | None
    notes: str | None
    total_minor: int
    currency: str
    payment_provider: str
    payment_intent_id: str | None
    payment_client_secret: str | None
    payment_status: str
    created_at: datetime
    updated_at: datetime
    lines: list[LineRow]
    allocations: list[AllocationRow]
    show_client_secret: bool = False
    customer_name: str | None = None
    due_at: datetime | None = None  # a pickup's promised ready time


@dataclass(slots=True)
class AtRiskOrder:
    order_id: uuid.UUID
    number: str
    fulfilment: str
    resolved: bool
    detail: str


# Naming an order -----------------------------------------------------------------------------
ORDER_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,35}\Z"
"""An order's id (a UUID) or its number (`W-N7N56JGT`): what every order route accepts."""

_ORDER_REF = re.compile(ORDER_REF_PATTERN)


async def order_id_of(ctx: OrderContext, ref: str) -> uuid.UUID:
    """The id of the order `ref` names: a UUID is taken as it is (the use case finds out
    whether it exists); a number is looked up, exactly, whatever its letter case."""
    try:
        return uuid.UUID(ref)
    except ValueError:
        pass
    if not _ORDER_REF.match(ref) or len(ref) > 32:
        raise NotFound(f"no order is numbered {ref[:40]!r}", {"order": ref[:40]})
    async with ctx.uow(readonly=True, replica=True) as uow:
        order_id = await OrderSearchRepository.of(uow).order_id_by_number(ref.upper())
    if order_id is None:
        raise NotFound(f"order {ref} not found", {"order": ref})
    return order_id


@asynccontextmanager
async def order_named(ctx: OrderContext, ref: str) -> AsyncIterator[uuid.UUID]:
    """The id of the order `ref` names, for a use case run inside the block. When `ref` is a
    number, a 404 that names the order's id is answered with the number instead: a caller
    who may not see an order must not learn its id from its number."""
    order_id = await order_id_of(ctx, ref)
    try:
        yield order_id
    except NotFound as exc:
        if ref == str(order_id) or (
            str(order_id) not in exc.message and str(order_id) not in exc.details.values()
        ):
            raise
        raise NotFound(f"order {ref} not found", {"order": ref}) from None


# Reading ------------------------------------------------------------------------------------
async def get_order(
    ctx: OrderContext, principal: Principal, order_id: uuid.UUID, show_client_secret: bool = False
) -> OrderView:
    async with ctx.uow(readonly=True, replica=True) as uow:
        orders = OrderRepository.of(uow)
        order = await orders.order(order_id)
        view = await _view(uow, order, show_client_secret or principal.placed(order.channel))
        involved = _locations(view)
        if principal.is_store_bound and not principal.store_codes & involved:
            # a store that took a return of it is involved too ("return anywhere")
            involved |= {code for _, code in await orders.events(order_id) if code}
    if not principal.may_see_order(view.channel, involved):
        raise NotFound(f"order {order_id} not found", {"order_id": str(order_id)})
    return view


def _locations(view: OrderView) -> set[str]:
    """Where an order involves a store: its pickup location and its allocations."""
    return {a.location for a in view.allocations} | (
        {view.pickup_location} if view.pickup_location else set()
    )


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
    search: OrderSearch | None = None,
) -> list[OrderView]:
    if principal.role in (Role.STOREFRONT, Role.MOBILE):
        if channel not in (None, principal.channel.value):
            return []
        channel = principal.channel.value
    codes = [location] if location else None  # None: wherever the orders are
    if principal.is_store_bound:  # tills and staff see their own stores' orders only
        if location and not principal.acts_at(location):
            pos = principal.role is Role.POS
            raise Forbidden(
                f"{'this POS key sees' if pos else 'you see'} orders at "
                f"{', '.join(sorted(principal.store_codes))} only",
                {"key_location": principal.location, "requested_location": location}
                if pos
                else {"stores": sorted(principal.store_codes), "requested_location": location},
            )
        codes = [location] if location else sorted(principal.store_codes)
    async with ctx.uow(readonly=True, replica=True) as uow:
        catalogue = CatalogueRepository.of(uow)
        location_ids = (
            None if codes is None else [(await catalogue.location(code)).id for code in codes]
        )
        customer_id = None
        if customer_email:
            customer = await CustomerRepository.of(uow).customer_by_email(customer_email)
            if customer is None:
                return []
            customer_id = customer.id
        orders = await OrderSearchRepository.of(uow).list_orders(
            status=status,
            location_ids=location_ids,
            customer_id=customer_id,
            channel=channel,
            after=after,
            limit=limit,
            search=search or OrderSearch(),
        )
        return [await _view(uow, o, False) for o in orders]


async def pickup_queue(
    ctx: OrderContext, principal: Principal, location: str, statuses: list[str]
) -> list[OrderView]:
    principal.require(Permission.WORK_PICKUPS, at_location=location)
    async with ctx.uow(readonly=True, replica=True) as uow:
        loc = await CatalogueRepository.of(uow).location(location)
        orders = await OrderSearchRepository.of(uow).pickup_queue(loc.id, statuses)
        return [await _view(uow, o, False) for o in orders]


async def _view(uow: UnitOfWork, order: Order, show_client_secret: bool) -> OrderView:
    """The order with its lines, allocations, pickup location and customer's name, read in
    `uow`: call it before the commit."""
    pickup = None
    if order.pickup_location_id is not None:
        pickup = (await CatalogueRepository.of(uow).locations_by_id([order.pickup_location_id]))[
            order.pickup_location_id
        ].code
    return order_view(
        order,
        await OrderRepository.of(uow).lines(order.id),
        await OrderRepository.of(uow).allocations(order.id),
        pickup,
        show_client_secret,
        customer_name=(await CustomerRepository.of(uow).customer(order.customer_id)).name,
    )


def order_view(
    order: Order,
    lines: list[LineRow],
    allocations: list[AllocationRow],
    pickup_location: str | None,
    show_client_secret: bool = False,
    customer_name: str | None = None,
) -> OrderView:
    """The view of an order whose lines, allocations and pickup location are known."""
    return view_of(
        OrderView,
        order,
        pickup_location=pickup_location,
        ship_address=dict(order.ship_address) if order.ship_address is not None else None,
        lines=list(lines),
        allocations=list(allocations),
        show_client_secret=show_client_secret,
        customer_name=customer_name,
    )
