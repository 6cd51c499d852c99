"""The audit's own books: where the last run stopped, each level as audited, open findings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.tables import Base, BigId, utcnow


class AuditCheckpoint(Base):
    """One row per completed run that advanced the audit. The newest is where the next
    incremental run starts: it looks at what changed after `changed_after` (the snapshot's
    time less the oldest transaction still in flight then, less a margin) and at the events
    after `event_head`."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    snapshot_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """Everything committed before this is in the snapshot the run read (see `rules.since`)."""
    event_head: Mapped[int] = mapped_column(BigInteger)
    """The highest event `seq` the snapshot saw: seq is given at commit, so nothing lower
    commits later."""
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    levels_examined: Mapped[int] = mapped_column(Integer, default=0)
    movements_read: Mapped[int] = mapped_column(Integer, default=0)
    events_read: Mapped[int] = mapped_column(Integer, default=0)
    findings_open: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(200))


class AuditedLevel(Base):
    """A level as the audit last established it from the ledger: the balance the movements
    add up to (not what the level row said, when the two disagreed), the level's version
    and the last movement folded in. Per level, movements are written under the level's row
    lock, so a higher movement id of a level always committed later."""

    __tablename__ = "audited_levels"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    incoming: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    last_movement_id: Mapped[int] = mapped_column(BigInteger, default=0)
    audited_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class AuditFinding(Base):
    """One inconsistency: open until a later run finds its level consistent again."""

    __tablename__ = "audit_findings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    """Which check found it: one of `app.audit.rules.CHECKS`."""
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"))
    storefront_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    summary: Mapped[str] = mapped_column(String(500))
    expected: Mapped[dict[str, Any]] = mapped_column(JSON)
    found: Mapped[dict[str, Any]] = mapped_column(JSON)
    rows: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The rows involved: movement ids, order and cart ids, event seqs."""
    first_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    first_checkpoint_id: Mapped[int] = mapped_column(BigInteger)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)

    __table_args__ = (Index("ix_audit_findings_open", "resolved_at", "location_id", "sku_id"),)
