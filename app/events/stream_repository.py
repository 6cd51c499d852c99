"""What the live stream's tailer reads of the log: every event after a mark, with what each
subscriber's scope and filter are decided by (the log's `read` leaves those out)."""

from __future__ import annotations

from sqlalchemy import select

from app.events.log_repository import EventView
from app.events.stream_model import LiveEvent
from app.events.tables import EventSequence, LoggedEvent
from app.platform.uow import Repository


class StreamLog(Repository):
    async def head(self) -> int:
        """The highest `seq` committed."""
        found = await self.session.scalar(
            select(EventSequence.last_seq).where(EventSequence.id == 1)
        )
        return int(found or 0)

    async def after(self, after: int, limit: int) -> list[LiveEvent]:
        """The first `limit` events with `seq > after`, oldest first."""
        rows = (
            await self.session.execute(
                select(LoggedEvent)
                .where(LoggedEvent.seq > after)
                .order_by(LoggedEvent.seq)
                .limit(limit)
            )
        ).scalars()
        return [
            LiveEvent.of(
                EventView(
                    seq=row.seq,
                    id=row.id,
                    type=row.type,
                    occurred_at=row.occurred_at,
                    data=row.data,
                ),
                location=row.location,
                other_location=row.other_location,
                sku=row.sku,
                channel=row.channel,
            )
            for row in rows
        ]
