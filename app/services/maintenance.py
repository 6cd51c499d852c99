"""Housekeeping use cases run by the scheduler."""

from __future__ import annotations

from datetime import timedelta

from app.db import idempotency
from app.db.models import utcnow
from app.db.session import UnitOfWork


async def purge_idempotency_records(uow: UnitOfWork, keep_for: timedelta) -> int:
    """Forget Idempotency-Keys older than `keep_for` (the contract promises at least 24 h)."""
    async with uow:
        removed = await idempotency.purge_older_than(uow.session, utcnow() - keep_for)
        await uow.commit()
        return removed
