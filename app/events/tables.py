"""The event log and the counter that numbers it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.tables import Base


class LoggedEvent(Base):
    """One event, as readers see it. `seq` is given at the commit by `EventSequence`, so
    readers see it strictly increasing and without gaps (see `app/events/log_repository.py`).

    On PostgreSQL the table is partitioned by month of `occurred_at` (migration 0014), and a
    partitioned table's unique constraints must hold the partition key: the primary key there
    is (seq, occurred_at) and `id` is unique with `occurred_at`. The mapping keeps `seq` alone
    as the identity, which it still is: `EventSequence` never gives a number twice."""

    __tablename__ = "event_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[uuid.UUID] = mapped_column(Uuid)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    location: Mapped[str | None] = mapped_column(String(64), nullable=True)
    other_location: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """A transfer's destination (its `location` is where it leaves from)."""
    sku: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)
    """An order's channel: storefront and mobile keys read their own channel's orders."""
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        # an event written twice has the same id and occurred_at: still refused
        UniqueConstraint("id", "occurred_at", name="uq_event_log_id_occurred_at"),
        Index("ix_event_log_occurred_at", "occurred_at"),
    )


class EventSequence(Base):
    """One row: the last `seq` given. Taking it is the last write of a transaction, so its
    row lock is held only while that transaction commits."""

    __tablename__ = "event_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
