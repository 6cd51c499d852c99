"""Carts in the database: rows, lines, the holds of a customer and the holds that are due."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.carts.rules import CartStatus
from app.carts.tables import Cart, CartLine
from app.inventory.tables import Location, Sku
from app.orders.tables import Customer
from app.platform.errors import NotFound
from app.platform.uow import Repository


@dataclass(frozen=True, slots=True)
class LineRow:
    sku_id: int
    sku: str
    name: str
    unit_price_minor: int
    quantity: int
    held: int


class CartRepository(Repository):
    async def add(self, cart: Cart) -> bool:
        """False when the code is taken (the caller draws another)."""
        try:
            async with self.session.begin_nested():
                self.session.add(cart)
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def cart(
        self, cart_id: uuid.UUID, *, for_update: bool = False, skip_locked: bool = False
    ) -> Cart:
        query = select(Cart).where(Cart.id == cart_id)
        if for_update:
            query = query.with_for_update(skip_locked=skip_locked)
        found = (await self.session.execute(query)).scalar_one_or_none()
        if found is None:
            raise NotFound(f"cart {cart_id} not found")
        if for_update:
            await self.session.refresh(found)
        return found

    async def cart_id_by_code(self, code: str) -> uuid.UUID:
        found = (
            await self.session.execute(select(Cart.id).where(Cart.code == code))
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(f"no cart with code {code}")
        return found

    async def open_carts(self, customer_id: uuid.UUID) -> list[Cart]:
        return list(
            (
                await self.session.execute(
                    select(Cart)
                    .where(Cart.customer_id == customer_id, Cart.status == CartStatus.OPEN.value)
                    .order_by(Cart.created_at, Cart.id)
                )
            ).scalars()
        )

    async def lines(self, cart_id: uuid.UUID) -> list[LineRow]:
        rows = await self.session.execute(
            select(CartLine, Sku.sku, Sku.name, Sku.price_minor)
            .join(Sku, Sku.id == CartLine.sku_id)
            .where(CartLine.cart_id == cart_id)
            .order_by(Sku.sku)
        )
        return [
            LineRow(line.sku_id, sku, name, price, line.quantity, line.held)
            for line, sku, name, price in rows
        ]

    async def replace_lines(self, cart_id: uuid.UUID, lines: list[tuple[int, int, int]]) -> None:
        """The cart's lines become `lines`: (sku_id, quantity, held)."""
        await self.session.execute(delete(CartLine).where(CartLine.cart_id == cart_id))
        self.session.add_all(
            CartLine(cart_id=cart_id, sku_id=sku_id, quantity=quantity, held=held)
            for sku_id, quantity, held in lines
        )
        await self.session.flush()

    async def held_by_customer(self, customer_id: uuid.UUID, other_than: uuid.UUID) -> int:
        """Units the customer's other open carts hold."""
        total = await self.session.scalar(
            select(func.coalesce(func.sum(CartLine.held), 0))
            .join(Cart, Cart.id == CartLine.cart_id)
            .where(
                Cart.customer_id == customer_id,
                Cart.status == CartStatus.OPEN.value,
                Cart.id != other_than,
            )
        )
        return int(total or 0)

    async def lock_customer(self, customer_id: uuid.UUID) -> None:
        """Serialise what one customer holds (the cap counts their carts under this lock)."""
        await self.session.execute(
            select(Customer.id).where(Customer.id == customer_id).with_for_update()
        )

    async def location_code(self, location_id: int | None) -> str | None:
        if location_id is None:
            return None
        return await self.session.scalar(select(Location.code).where(Location.id == location_id))

    async def due_holds(self, now: datetime, batch: int) -> list[uuid.UUID]:
        """Open carts whose hold has run out and still holds units, oldest first."""
        rows = await self.session.execute(
            select(Cart.id)
            .where(
                Cart.status == CartStatus.OPEN.value,
                Cart.hold_location_id.is_not(None),
                Cart.held_until <= now,
            )
            .order_by(Cart.held_until)
            .limit(batch)
        )
        return [row[0] for row in rows]
