"""Staff tables: people, the stores each works at, their sign-in sessions and recent failed
sign-ins per email."""

from __future__ import annotations

import uuid
from datetime import datetime

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.tables import Base, utcnow


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lower-cased
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True
    )

    __table_args__ = (CheckConstraint("role IN ('associate', 'manager')", name="role"),)


class StaffLocation(Base):
    """Where a person works: the stores (or warehouses) they act at."""

    __tablename__ = "staff_locations"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)


class StaffSession(Base):
    """A signed-in person: only the SHA-256 of the token is kept, as for API keys."""

    __tablename__ = "staff_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    last_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class SignInAttempt(Base):
    """Recent failed sign-ins for one email, known or not (keyed by the email's SHA-256, so an
    address nobody has is not stored in clear); shared by every replica."""

    __tablename__ = "staff_sign_in_attempts"

    email_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
