"""Use cases of customers: find, read, timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.inventory.repository import CatalogueRepository
from app.orders.customer_repository import CustomerRepository
from app.platform.access import Principal, Role
from app.platform.context import Context
from app.platform.errors import BusinessRuleViolation, Forbidden, NotFound
from app.platform.uow import UnitOfWork
from app.platform.views import view_of


@dataclass(frozen=True, slots=True)
class CustomerView:
    id: uuid.UUID
    email: str
    name: str | None
    phone: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    channel: str
    location: str | None
    order_id: uuid.UUID | None
    event: str
    summary: str


def _require_staff(principal: Principal) -> None:
    """Profiles span channels, so channel keys (web, mobile) may not browse them."""
    if principal.role in (Role.STOREFRONT, Role.MOBILE):
        raise Forbidden("customer profiles are for staff keys")


async def _require_seen_here(
    customers: CustomerRepository, principal: Principal, customer_id: uuid.UUID
) -> None:
    """A POS key or a person of the staff reads the customers of their own stores only: those
    with an order or a till transaction there. Others are not found, as if they did not exist."""
    if not principal.is_store_bound:
        return
    for store in sorted(principal.store_codes):
        if await customers.seen_at(customer_id, store):
            return
    raise NotFound(f"customer {customer_id} not found")


async def find_by_email(ctx: Context, principal: Principal, email: str) -> CustomerView:
    _require_staff(principal)
    async with ctx.uow(readonly=True, replica=True) as uow:
        customers = CustomerRepository.of(uow)
        customer = await customers.customer_by_email(email)
        if customer is None:
            raise NotFound(f"no customer with email {email}")
        await _require_seen_here(customers, principal, customer.id)
        return view_of(CustomerView, customer)


async def get_customer(ctx: Context, principal: Principal, customer_id: uuid.UUID) -> CustomerView:
    _require_staff(principal)
    async with ctx.uow(readonly=True, replica=True) as uow:
        customers = CustomerRepository.of(uow)
        customer = await customers.customer(customer_id)
        await _require_seen_here(customers, principal, customer_id)
        return view_of(CustomerView, customer)


async def set_preferred_location(
    ctx: Context, principal: Principal, customer_id: uuid.UUID, location: str | None
) -> str | None:
    """The store a customer shops at (set by the app, the web store or staff): availability
    starts there when given no coordinates. A till sets it for its own stores' customers."""
    if principal.role is Role.READONLY:
        raise Forbidden("read-only keys change nothing")
    async with ctx.uow() as uow:
        customers = CustomerRepository.of(uow)
        customer = await customers.customer(customer_id)
        await _require_seen_here(customers, principal, customer_id)
        store = await CatalogueRepository.of(uow).location_ref(location) if location else None
        if store is not None and store.kind != "store":
            raise BusinessRuleViolation(f"{store.code} is not a store")
        customer.preferred_location_id = store.id if store else None
        await uow.commit()
    return store.code if store else None


async def preferred_store_origin(
    uow: UnitOfWork, customer_id: uuid.UUID, found: list[tuple[float, float]]
) -> None:
    """Listener of `CUSTOMER_ORIGIN`: where availability starts for a customer."""
    origin = await CustomerRepository.of(uow).preferred_origin(customer_id)
    if origin is not None:
        found.append(origin)


async def timeline(
    ctx: Context, principal: Principal, customer_id: uuid.UUID
) -> list[TimelineEntry]:
    _require_staff(principal)
    async with ctx.uow(readonly=True, replica=True) as uow:
        await CustomerRepository.of(uow).customer(customer_id)
        await _require_seen_here(CustomerRepository.of(uow), principal, customer_id)
        return [
            TimelineEntry(e.at, e.channel, code, e.order_id, e.event, e.summary)
            for e, code in await CustomerRepository.of(uow).timeline(customer_id)
        ]
