"""Reads and writes of staff, their stores, sessions and failed sign-ins."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.access.staff_tables import SignInAttempt, Staff, StaffLocation, StaffSession
from app.inventory.tables import Location
from app.platform.errors import AlreadyExists, NotFound
from app.platform.uow import Repository


class StaffRepository(Repository):
    # People --------------------------------------------------------------------------------
    async def location_ids(self, codes: Iterable[str]) -> dict[str, int]:
        """The ids of the locations of `codes` that exist."""
        result = await self.session.execute(
            select(Location.code, Location.id).where(Location.code.in_(list(codes)))
        )
        return {code: location_id for code, location_id in result}

    async def add_staff(self, location_ids: Iterable[int], **values: Any) -> Staff:
        staff = Staff(**values)
        self.session.add(staff)
        try:
            await self.session.flush()
        except IntegrityError:  # the same email added at the same moment by another request
            email = values.get("email")
            raise AlreadyExists(f"{email} has an account already", {"email": email}) from None
        self.session.add_all(StaffLocation(staff_id=staff.id, location_id=i) for i in location_ids)
        await self.session.flush()
        return staff

    async def staff_by_email(self, email: str) -> Staff | None:
        result = await self.session.execute(select(Staff).where(Staff.email == email))
        return result.scalar_one_or_none()

    async def staff_for_update(self, staff_id: int) -> Staff:
        result = await self.session.execute(
            select(Staff).where(Staff.id == staff_id).with_for_update()
        )
        staff = result.scalar_one_or_none()
        if staff is None:
            raise NotFound(f"staff member {staff_id} not found", {"id": staff_id})
        return staff

    async def page(self, after_id: int, limit: int) -> Sequence[Staff]:
        result = await self.session.execute(
            select(Staff).where(Staff.id > after_id).order_by(Staff.id).limit(limit)
        )
        return result.scalars().all()

    async def location_codes(self, staff_ids: Iterable[int]) -> dict[int, list[str]]:
        """Each person's location codes, sorted."""
        result = await self.session.execute(
            select(StaffLocation.staff_id, Location.code)
            .join(Location, Location.id == StaffLocation.location_id)
            .where(StaffLocation.staff_id.in_(list(staff_ids)))
            .order_by(Location.code)
        )
        codes: dict[int, list[str]] = defaultdict(list)
        for staff_id, code in result:
            codes[staff_id].append(code)
        return codes

    # Sessions ------------------------------------------------------------------------------
    async def add_session(self, **values: Any) -> StaffSession:
        session = StaffSession(**values)
        self.session.add(session)
        await self.session.flush()
        return session

    async def revoke_session(self, token_hash: str, now: datetime) -> None:
        await self.session.execute(
            update(StaffSession)
            .where(StaffSession.token_hash == token_hash, StaffSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_sessions_of(self, staff_id: int, now: datetime) -> None:
        await self.session.execute(
            update(StaffSession)
            .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def live_session(
        self, token_hash: str, now: datetime
    ) -> tuple[Staff, StaffSession, list[str]] | None:
        """The person behind a session token, if the session is live and the person active."""
        result = await self.session.execute(
            select(Staff, StaffSession)
            .join(StaffSession, StaffSession.staff_id == Staff.id)
            .where(
                StaffSession.token_hash == token_hash,
                StaffSession.revoked_at.is_(None),
                StaffSession.expires_at > now,
                Staff.deactivated_at.is_(None),
            )
        )
        row = result.one_or_none()
        if row is None:
            return None
        staff, session = row
        return staff, session, (await self.location_codes([staff.id]))[staff.id]

    async def mark_seen(self, session_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(StaffSession).where(StaffSession.id == session_id).values(last_seen_at=now)
        )

    # Failed sign-ins -----------------------------------------------------------------------
    async def attempts_for_update(self, email_digest: str, now: datetime) -> SignInAttempt:
        """The email's row of attempts, made if missing (concurrent makers do not collide)."""
        dialect = sqlite if self._uow.is_sqlite else postgresql
        await self.session.execute(
            dialect.insert(SignInAttempt)
            .values(email_digest=email_digest, failures=0, last_attempt_at=now)
            .on_conflict_do_nothing()
        )
        result = await self.session.execute(
            select(SignInAttempt)
            .where(SignInAttempt.email_digest == email_digest)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return result.scalar_one()

    async def forget_attempts(self, email_digest: str) -> None:
        await self.session.execute(
            delete(SignInAttempt).where(SignInAttempt.email_digest == email_digest)
        )

    async def forget_stale_attempts(self, older_than: datetime, now: datetime) -> None:
        """Attempts nobody needs to remember: no longer recent and not locked out."""
        await self.session.execute(
            delete(SignInAttempt).where(
                and_(
                    SignInAttempt.last_attempt_at < older_than,
                    or_(SignInAttempt.locked_until.is_(None), SignInAttempt.locked_until < now),
                )
            )
        )
