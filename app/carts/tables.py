"""Carts in the database: one row per cart, one per line; what a line holds at the store."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.tables import Base, utcnow


class Cart(Base):
    """A shopper's cart, seen from every channel. While `hold_location_id` is set its lines'
    `held` units are reserved in the ledger at that store until `held_until`."""

    __tablename__ = "carts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(16))
    hold_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), nullable=True)
    held_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    extended: Mapped[bool] = mapped_column(default=False)
    order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    """The order it became: written first in that order's transaction, before the order row."""
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'ordered', 'sold')", name="status"),
        Index("ix_carts_customer_id", "customer_id", "status"),
        Index("ix_carts_held_until", "held_until"),
    )


class CartLine(Base):
    __tablename__ = "cart_lines"

    cart_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carts.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("held >= 0 AND held <= quantity", name="held"),
        Index("ix_cart_lines_sku_id", "sku_id"),  # a level's holders (app/audit)
    )
