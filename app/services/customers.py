"""One customer profile per email, and its timeline across every channel."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.db.order_models import Customer
from app.db.session import UnitOfWork
from app.domain.access import Principal, Role
from app.domain.errors import Forbidden, NotFound


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


async def find_by_email(uow: UnitOfWork, principal: Principal, email: str) -> Customer:
    _require_staff(principal)
    async with uow:
        customer = await uow.orders.customer_by_email(email)
        if customer is None:
            raise NotFound(f"no customer with email {email}")
        return customer


async def get_customer(uow: UnitOfWork, principal: Principal, customer_id: uuid.UUID) -> Customer:
    _require_staff(principal)
    async with uow:
        return await uow.orders.customer(customer_id)


async def timeline(
    uow: UnitOfWork, principal: Principal, customer_id: uuid.UUID
) -> list[TimelineEntry]:
    _require_staff(principal)
    async with uow:
        await uow.orders.customer(customer_id)
        return [
            TimelineEntry(e.at, e.channel, code, e.order_id, e.event, e.summary)
            for e, code in await uow.orders.timeline(customer_id)
        ]
