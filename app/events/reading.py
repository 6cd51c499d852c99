"""Catching up: the events after a reader's mark, and the log's retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.events.log_repository import EventLog, EventView
from app.events.model import EventFilter, EventScope
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.maintenance import purge_in_batches
from app.platform.tables import utcnow


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
    """Delete events older than `keep_days`, in batches; returns how many went."""
    before = utcnow() - timedelta(days=keep_days)
    return await purge_in_batches(ctx, lambda uow: EventLog.of(uow).purge(before))
