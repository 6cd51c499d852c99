"""Finding orders: the order list with its filters and search, a number's order, the queue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from app.orders.tables import Allocation, Customer, Order
from app.platform.uow import Repository


@dataclass(frozen=True, slots=True)
class OrderSearch:
    """What the order list is narrowed to beyond its filters: `text` finds an order by its
    number (exactly) or its customer's name, email or phone (a part, any letter case)."""

    text: str | None = None
    at_risk: bool | None = None
    due_before: datetime | None = None


class OrderSearchRepository(Repository):
    async def order_id_by_number(self, number: str) -> uuid.UUID | None:
        return (
            await self.session.execute(select(Order.id).where(Order.number == number))
        ).scalar_one_or_none()

    async def list_orders(
        self,
        *,
        status: str | None,
        location_ids: Sequence[int] | None,
        customer_id: uuid.UUID | None,
        channel: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
        search: OrderSearch,
    ) -> list[Order]:
        """Oldest first. `location_ids`: orders that involve one of them (pickup there or
        units allocated there); None: wherever they are."""
        conditions: list[Any] = _search_conditions(search)
        if status:
            conditions.append(Order.status == status)
        if channel:
            conditions.append(Order.channel == channel)
        if customer_id:
            conditions.append(Order.customer_id == customer_id)
        if location_ids is not None:
            conditions.append(
                or_(
                    Order.pickup_location_id.in_(location_ids),
                    Order.id.in_(
                        select(Allocation.order_id).where(Allocation.location_id.in_(location_ids))
                    ),
                )
            )
        if after is not None:
            conditions.append(
                or_(
                    Order.created_at > after[0],
                    and_(Order.created_at == after[0], Order.id > after[1]),
                )
            )
        return list(
            (
                await self.session.execute(
                    select(Order)
                    .where(*conditions)
                    .order_by(Order.created_at, Order.id)
                    .limit(limit)
                )
            ).scalars()
        )

    async def pickup_queue(self, location_id: int, statuses: Sequence[str]) -> list[Order]:
        """Soonest due first (orders without a due time after those with one), then oldest."""
        return list(
            (
                await self.session.execute(
                    select(Order)
                    .where(Order.pickup_location_id == location_id, Order.status.in_(statuses))
                    .order_by(Order.due_at.is_(None), Order.due_at, Order.created_at, Order.id)
                )
            ).scalars()
        )


def _search_conditions(search: OrderSearch) -> list[Any]:
    conditions: list[Any] = []
    if search.at_risk is not None:
        conditions.append(Order.at_risk == search.at_risk)
    if search.due_before is not None:
        conditions.append(Order.due_at < search.due_before)
    if search.text and (text := search.text.strip().lower()):
        by_customer = [
            func.lower(column).contains(text, autoescape=True)
            for column in (Customer.name, Customer.email, Customer.phone)
        ]
        digits = "".join(c for c in text if c.isdigit())
        if len(digits) >= 4 and not any(c.isalpha() for c in text):
            # a phone number as typed at the desk, with or without its spaces and dashes
            bare = func.replace(func.replace(Customer.phone, " ", ""), "-", "")
            by_customer.append(bare.contains(digits, autoescape=True))
        conditions.append(
            or_(
                Order.number == text.upper(),
                Order.customer_id.in_(select(Customer.id).where(or_(*by_customer))),
            )
        )
    return conditions
