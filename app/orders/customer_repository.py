"""Customers in the database: one profile per email, and their timeline."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from app.inventory.tables import Location
from app.orders.tables import (
    Customer,
    Event,
)
from app.platform.errors import NotFound
from app.platform.prepared import Prepared
from app.platform.tables import table_of, utcnow
from app.platform.uow import Repository


def _customer_upsert(dialect: str) -> Any:
    table = table_of(Customer)
    new = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return new.on_conflict_do_update(
        index_elements=["email"],
        set_={
            "name": func.coalesce(table.c.name, new.excluded.name),
            "phone": func.coalesce(table.c.phone, new.excluded.phone),
        },
    ).returning(table.c.id, table.c.email, table.c.name, table.c.phone)


_CUSTOMER_UPSERT = Prepared(_customer_upsert("sqlite"), postgresql=_customer_upsert("postgresql"))


@dataclass(frozen=True, slots=True)
class CustomerRef:
    id: uuid.UUID
    email: str
    name: str | None
    phone: str | None


class CustomerRepository(Repository):
    async def customer_for_email(
        self, email: str, name: str | None = None, phone: str | None = None
    ) -> CustomerRef:
        """The one profile of this email, created on first sight from any channel; a name or
        phone is filled in when the profile has none yet. One prepared upsert."""
        [row] = await self.statements.rows(
            _CUSTOMER_UPSERT,
            {
                "id": uuid.uuid4(),
                "email": email.strip().lower(),
                "name": name,
                "phone": phone,
                "created_at": utcnow(),
            },
        )
        return CustomerRef(*row)

    async def customer(self, customer_id: uuid.UUID) -> Customer:
        customer = await self.session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"customer {customer_id} not found")
        return customer

    async def customer_by_email(self, email: str) -> Customer | None:
        return (
            await self.session.execute(
                select(Customer).where(Customer.email == email.strip().lower())
            )
        ).scalar_one_or_none()

    async def seen_at(self, customer_id: uuid.UUID, location_code: str) -> bool:
        """Whether anything of this customer's happened at that location (an order event, a
        till transaction there)."""
        found = await self.session.execute(
            select(Event.id)
            .join(Location, Location.id == Event.location_id)
            .where(Event.customer_id == customer_id, Location.code == location_code)
            .limit(1)
        )
        return found.first() is not None

    async def timeline(self, customer_id: uuid.UUID) -> list[tuple[Event, str | None]]:
        rows = await self.session.execute(
            select(Event, Location.code)
            .outerjoin(Location, Location.id == Event.location_id)
            .where(Event.customer_id == customer_id)
            .order_by(Event.at, Event.id)
        )
        return [(event, code) for event, code in rows]

    async def preferred_origin(self, customer_id: uuid.UUID) -> tuple[float, float] | None:
        """Where the customer's preferred store is, if they have one."""
        row = (
            await self.session.execute(
                select(Location.latitude, Location.longitude)
                .join(Customer, Customer.preferred_location_id == Location.id)
                .where(Customer.id == customer_id)
            )
        ).first()
        return (row.latitude, row.longitude) if row else None

    async def preferred_code(self, customer: Customer) -> str | None:
        if customer.preferred_location_id is None:
            return None
        return await self.session.scalar(
            select(Location.code).where(Location.id == customer.preferred_location_id)
        )
