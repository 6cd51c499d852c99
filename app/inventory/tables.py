"""Locations, SKUs, stock levels, movements and transfers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.tables import Base, BigId, table_of, utcnow


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    pickup_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    ship_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    default_safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    # when pickups can be promised (app/inventory/hours.py reads these)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    opening_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {}: always open
    closed_dates: Mapped[list[str]] = mapped_column(JSON, default=list)  # local "YYYY-MM-DD"
    pickup_lead_minutes: Mapped[int] = mapped_column(Integer, default=60)
    pickup_paused: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint("kind IN ('store', 'warehouse')", name="kind"),
        CheckConstraint("default_safety_stock >= 0", name="default_safety_stock"),
        CheckConstraint(
            "pickup_lead_minutes >= 0 AND pickup_lead_minutes <= 10080", name="pickup_lead_minutes"
        ),
        Index("ix_locations_lat_lon", "latitude", "longitude"),
    )


class Sku(Base):
    __tablename__ = "skus"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    barcode: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTimeUTC(timezone=True), default=utcnow, onupdate=utcnow
    )

    __table_args__ = (CheckConstraint("price_minor >= 0", name="price_minor"),)


class StockLevel(Base):
    """The projection of the ledger for one SKU at one location."""

    __tablename__ = "stock_levels"

    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    incoming: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved"),
        CheckConstraint("safety_stock >= 0", name="safety_stock"),
        CheckConstraint("incoming >= 0", name="incoming"),
        Index("ix_stock_levels_location_sku", "location_id", "sku_id"),
    )


class StockMovement(Base):
    """One row per change of a level; append-only.

    On PostgreSQL the table is partitioned by month of `created_at` (migration 0014) and its
    primary key is (id, created_at), as a partitioned table's must hold the partition key. The
    mapping keeps `id` alone as the identity, which it still is: one sequence numbers every
    partition. Old months are archived (app/inventory/archive.py): their sums per level go to
    `MovementArchiveTotal` first, so a level is its totals plus the fold of the movements left.
    """

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    kind: Mapped[str] = mapped_column(String(32))
    on_hand_delta: Mapped[int] = mapped_column(Integer, default=0)
    reserved_delta: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock_delta: Mapped[int] = mapped_column(Integer, default=0)
    incoming_delta: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_stock_movements_sku_location_id", "sku_id", "location_id", "id"),
        Index("ix_stock_movements_location_id", "location_id", "id"),
        Index("ix_stock_movements_created_at", "created_at"),
    )


class MovementArchiveTotal(Base):
    """Per level, the sums of the movements archived out of `stock_movements`.

    The contract: for every level, `on_hand` (and `reserved`, `safety_stock`, `incoming`) is
    this row's delta (0 without a row) plus the sum of the deltas of the movements still in
    `stock_movements`. A month's movements leave the ledger in the transaction that adds them
    here, so the identity holds at every commit. `last_movement_id` is the highest archived
    movement of the level; `archived_through` the end of the last month archived."""

    __tablename__ = "movement_archive_totals"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    on_hand_delta: Mapped[int] = mapped_column(BigInteger)
    reserved_delta: Mapped[int] = mapped_column(BigInteger)
    safety_stock_delta: Mapped[int] = mapped_column(BigInteger)
    incoming_delta: Mapped[int] = mapped_column(BigInteger)
    movements: Mapped[int] = mapped_column(BigInteger)
    last_movement_id: Mapped[int] = mapped_column(BigInteger)
    archived_through: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))


class Transfer(Base):
    __tablename__ = "transfers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    shipped_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_transfers_from_location_id", "from_location_id", "created_at"),
        Index("ix_transfers_to_location_id", "to_location_id", "created_at"),
    )


class TransferLine(Base):
    """`quantity` is what was sent; `received` may pass it (an over-receipt), `lost` is what a
    transfer closed short wrote off, `returned` what a cancel sent back to the source."""

    __tablename__ = "transfer_lines"

    transfer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("transfers.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    received: Mapped[int] = mapped_column(Integer, default=0)
    lost: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)


class CountSession(Base):
    """A stock count at one location, filled in by staff and approved by a manager.

    `as_of` is the ledger's position (the last movement id at the location) when it opened."""

    __tablename__ = "count_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'approved', 'cancelled')", name="status"),
        Index("ix_count_sessions_location_id", "location_id", "created_at"),
    )


class CountLine(Base):
    """One SKU of a count session. `as_of` is the ledger's position for that SKU when
    `counted` was entered: the movements after it are what moved since the shelf was counted."""

    __tablename__ = "count_lines"

    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("count_sessions.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    counted: Mapped[int | None] = mapped_column(Integer, nullable=True)
    as_of: Mapped[int] = mapped_column(BigInteger)
    counted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    counted_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    expected: Mapped[int | None] = mapped_column(Integer, nullable=True)  # frozen on approval
    moved_since: Mapped[int | None] = mapped_column(Integer, nullable=True)  # frozen on approval

    __table_args__ = (CheckConstraint("counted >= 0", name="counted"),)


_levels = table_of(StockLevel)
AVAILABLE = _levels.c.on_hand - _levels.c.reserved - _levels.c.safety_stock
"""What remote channels may sell, as a SQL expression over stock_levels."""
