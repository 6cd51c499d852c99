"""Housekeeping use cases of the platform: forgetting old Idempotency-Keys."""

from __future__ import annotations

from datetime import timedelta

from app.platform.context import Context
from app.platform.idempotency.store import IdempotencyRecords
from app.platform.tables import utcnow


async def purge_idempotency_records(ctx: Context, keep_for: timedelta) -> int:
    """Forget Idempotency-Keys older than `keep_for` (the contract promises at least 24 h)."""
    async with ctx.uow() as uow:
        removed = await IdempotencyRecords.of(uow).purge_older_than(utcnow() - keep_for)
        await uow.commit()
    return removed
