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


async def find_by_email(ctx: Context, principal: Principal, email: str) -> CustomerView:
    _require_staff(principal)
    async with ctx.uow(readonly=True) as uow:
        customer = await CustomerRepository.of(uow).customer_by_email(email)
        if customer is None:
            raise NotFound(f"no customer with email {email}")
        return view_of(CustomerView, customer)


async def get_customer(ctx: Context, principal: Principal, customer_id: uuid.UUID) -> CustomerView:
    _require_staff(principal)
    async with ctx.uow(readonly=True) as uow:
        return view_of(CustomerView, await CustomerRepository.of(uow).customer(customer_id))


async def timeline(
    ctx: Context, principal: Principal, customer_id: uuid.UUID
) -> list[TimelineEntry]:
    _require_staff(principal)
    async with ctx.uow(readonly=True) as uow:
        await CustomerRepository.of(uow).customer(customer_id)
        return [
            TimelineEntry(e.at, e.channel, code, e.order_id, e.event, e.summary)
            for e, code in await CustomerRepository.of(uow).timeline(customer_id)
        ]
