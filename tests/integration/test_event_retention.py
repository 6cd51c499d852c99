"""The event log keeps EVENT_RETENTION_DAYS and no more; purging never renumbers."""

from __future__ import annotations

from datetime import timedelta

from app.bootstrap import AppContext
from app.events.log_repository import EventLog
from app.events.model import EventFilter
from app.events.reading import purge_events, read_events
from app.platform.events import OutgoingEvent
from app.platform.tables import utcnow
from tests.conftest import ADMIN


async def test_old_events_go_and_numbering_goes_on(ctx: AppContext) -> None:
    now = utcnow()
    async with ctx.uow() as uow:
        await EventLog.of(uow).append(
            [
                OutgoingEvent(type="stock.changed", occurred_at=now - timedelta(days=age))
                for age in (45, 31, 29, 0)
            ]
        )
        await uow.commit()

    assert await purge_events(ctx, keep_days=30) == 2
    page = await read_events(ctx, ADMIN, after=0, wanted=EventFilter(), limit=10)
    assert [event.seq for event in page.items] == [3, 4]
    assert page.next_after == 4

    async with ctx.uow() as uow:
        last = await EventLog.of(uow).append([OutgoingEvent(type="stock.changed", occurred_at=now)])
        await uow.commit()
    assert last == 5, "a purge frees no numbers: a reader's mark stays meaningful"
    assert await purge_events(ctx, keep_days=30) == 0
