"""Use cases of customers: find, read, timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.orders.customer_repository import CustomerRepository
from app.platform.access import Principal, Role
from app.platform.context import Context
from app.platform.errors import Forbidden, NotFound
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
    async with ctx.uow(readonly=True) as uow:
        customers = CustomerRepository.of(uow)
        customer = await customers.customer_by_email(email)
        if customer is None:
            raise NotFound(f"no customer with email {email}")
        await _require_seen_here(customers, principal, customer.id)
        return view_of(CustomerView, customer)


async def get_customer(ctx: Context, principal: Principal, customer_id: uuid.UUID) -> CustomerView:
    _require_staff(principal)
    async with ctx.uow(readonly=True) as uow:
        customers = CustomerRepository.of(uow)
        customer = await customers.customer(customer_id)
        await _require_seen_here(customers, principal, customer_id)
        return view_of(CustomerView, customer)


async def timeline(
    ctx: Context, principal: Principal, customer_id: uuid.UUID
) -> list[TimelineEntry]:
    _require_staff(principal)
    async with ctx.uow(readonly=True) as uow:
        await CustomerRepository.of(uow).customer(customer_id)
        await _require_seen_here(CustomerRepository.of(uow), principal, customer_id)
        return [
            TimelineEntry(e.at, e.channel, code, e.order_id, e.event, e.summary)
            for e, code in await CustomerRepository.of(uow).timeline(customer_id)
        ]
