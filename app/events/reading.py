"""Catching up: the events after a reader's mark, and the log's retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from app.events.log_repository import EventLog, EventView
from app.events.model import EventFilter, EventScope
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.maintenance import purge_in_batches
from app.platform.partition_repository import Partitions
from app.platform.tables import utcnow

log = structlog.get_logger("omnistock.events")

EVENTS = "event_log"
MONTHS_AHEAD = 3


@dataclass(frozen=True, slots=True)
class EventPage:
    items: list[EventView]
    next_after: int
    """Ask `after=` this next: the last event given, or, when the page is not full, the
    log's head as it was read (nothing at or below it can still appear)."""


def scope_of(principal: Principal) -> EventScope:
    return EventScope.of(principal.role, principal.channel.value, principal.store_codes)


async def read_events(
    ctx: Context, principal: Principal, *, after: int, wanted: EventFilter, limit: int
) -> EventPage:
    """The events after `after` this caller may see, oldest first. The head is read before
    the events: everything up to it has committed, so a page ending at the head skips
    nothing that commits later."""
    principal.require(Permission.READ)
    async with ctx.uow(readonly=True, replica=True) as uow:
        log = EventLog.of(uow)
        head = await log.head()
        items = await log.read(
            after=after, upto=head, wanted=wanted, scope=scope_of(principal), limit=limit
        )
    if len(items) == limit:
        return EventPage(items, items[-1].seq)
    return EventPage(items, max(after, head))


async def purge_events(ctx: Context, keep_days: int) -> int:
    """Delete events older than `keep_days`; returns how many went. On PostgreSQL the log is
    partitioned by month: the months wholly past retention are dropped as tables, the months
    ahead created, and the rest (the month the boundary falls in, and the DEFAULT partition)
    deleted in batches."""
    now = utcnow()
    before = now - timedelta(days=keep_days)
    dropped = await _drop_old_months(ctx, before, now)
    return dropped + await purge_in_batches(ctx, lambda uow: EventLog.of(uow).purge(before))


async def _drop_old_months(ctx: Context, before: datetime, now: datetime) -> int:
    async with ctx.uow() as uow:
        if uow.is_sqlite:
            return 0
        partitions = Partitions.of(uow)
        await partitions.create_ahead(EVENTS, now, MONTHS_AHEAD)
        months = [p for p in await partitions.months(EVENTS) if p.upper <= before]
        await uow.commit()
    dropped = 0
    for month in months:
        async with ctx.uow() as uow:
            partitions = Partitions.of(uow)
            # counted first: the detach holds the log's exclusive lock until the commit
            dropped += await partitions.row_count(month.name)
            await partitions.detach(month)
            await partitions.drop(month.name)
            await uow.commit()
        log.info("event log month dropped", partition=month.name)
    async with ctx.uow() as uow:
        if await Partitions.of(uow).default_rows(EVENTS):
            log.warning("events in the DEFAULT partition of event_log: no month took them")
    return dropped
