"""Housekeeping use cases of the platform: forgetting old Idempotency-Keys, and deleting old
rows in batches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from app.platform.context import Context
from app.platform.idempotency.store import IdempotencyRecords
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork


async def purge_idempotency_records(ctx: Context, keep_for: timedelta) -> int:
    """Forget Idempotency-Keys older than `keep_for` (the contract promises at least 24 h)."""
    async with ctx.uow() as uow:
        removed = await IdempotencyRecords.of(uow).purge_older_than(utcnow() - keep_for)
        await uow.commit()
    return removed


async def purge_in_batches(
    ctx: Context, purge_batch: Callable[[UnitOfWork], Awaitable[int]]
) -> int:
    """Run `purge_batch` (delete one bounded batch, return how many went) in a transaction of
    its own, again and again until it deletes nothing: no transaction holds many row locks or
    a long snapshot. Returns how many went in all."""
    removed = 0
    while True:
        async with ctx.uow() as uow:
            gone = await purge_batch(uow)
            await uow.commit()
        removed += gone
        if gone == 0:
            return removed
