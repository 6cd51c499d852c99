"""The event log: written last in each transaction, read by `after=`.

Why a counter row and not a sequence: a PostgreSQL sequence hands out numbers when they are
asked for, not when transactions commit. Transaction A takes 10, B takes 11 and commits, a
reader sees 11 and moves its mark past it, then A commits 10: that reader never sees 10. Here
each transaction takes its numbers from the one row of `event_sequence` as its very last
statement; the row stays locked until it commits, so the next transaction's numbers are
higher and become visible after. Numbers therefore appear in commit order and without gaps,
and `after=last` misses nothing (`tests/integration/test_event_log_order.py` shows the
sequence design skipping and this one not). The cost is that event-writing commits queue for
that row, for the length of one statement and a commit each.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update

from app.events.model import ORDER_TYPES, STOCK_TYPES, EventFilter, EventScope
from app.events.tables import EventSequence, LoggedEvent
from app.inventory.tables import Location, Sku
from app.platform.events import OutgoingEvent
from app.platform.uow import Repository, UnitOfWork

_APPEND_ON_POSTGRESQL = """
    WITH e AS (
        SELECT value, ord FROM json_array_elements({events}::json) WITH ORDINALITY AS x(value, ord)
    ), numbered AS (
        UPDATE event_sequence SET last_seq = last_seq + (SELECT count(*) FROM e) WHERE id = 1
        RETURNING last_seq
    )
    INSERT INTO event_log
        (seq, id, type, occurred_at, location, other_location, sku, channel, data)
    SELECT numbered.last_seq - (SELECT count(*) FROM e) + e.ord, CAST(e.value->>'id' AS uuid),
           e.value->>'type', CAST(e.value->>'occurred_at' AS timestamptz), e.value->>'location',
           e.value->>'other_location', e.value->>'sku', e.value->>'channel', e.value->'data'
    FROM numbered, e
"""
"""One statement: numbers taken, events written. Its values are a literal (`{events}`, the
rows as JSON), because the API sends it in one message with the COMMIT
(`append_with_the_commit`), and a message of several statements takes no parameters: the
counter row then stays locked for the time the server takes to run it and commit, and not
also while the answer travels back to the process and the process gets round to sending
COMMIT."""

_CODES: dict[tuple[str, int], str] = {}
"""Location and SKU codes by id: codes never change, so a hit saves a query."""

_CODES_LIMIT = 200_000


def dollar_quoted(text: str) -> str:
    """`text` as a PostgreSQL string constant, whatever it contains: dollar-quoted with a tag
    that does not occur in it."""
    tag = "ev"
    while f"${tag}$" in text:
        tag += "x"
    return f"${tag}${text}${tag}$"


def _append_sql(rows: list[dict[str, Any]]) -> str:
    """`_APPEND_ON_POSTGRESQL` for these rows (`EventLog._rows_of`)."""
    payload = json.dumps(
        [
            {**row, "id": str(row["id"]), "occurred_at": row["occurred_at"].isoformat()}
            for row in rows
        ],
        default=str,
    )
    return _APPEND_ON_POSTGRESQL.format(events=dollar_quoted(payload))


def forget_codes() -> None:
    """For tests that empty the tables between cases (ids are then given again)."""
    _CODES.clear()


EventSignal = Callable[[int | None], None]
"""Told, after a commit, the highest `seq` it wrote, or None when the numbers were taken on
the server with the commit (the stream and webhooks wake up)."""


@dataclass(frozen=True, slots=True)
class EventView:
    seq: int
    id: uuid.UUID
    type: str
    occurred_at: datetime
    data: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The event as the contract gives it: `{seq, id, type, occurred_at, data}`."""
        return {
            "seq": self.seq,
            "id": str(self.id),
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }


class EventLog(Repository):
    async def append(self, events: Sequence[OutgoingEvent]) -> int:
        """Number and write `events` now; returns the last `seq` given. (The API's transactions
        go through `event_writer`, which on PostgreSQL sends the same statement with the
        COMMIT instead.)"""
        rows = await self._rows_of(events)
        if self._uow.is_sqlite:
            # One writer at a time on SQLite: the counter is taken and written in turn.
            last = (
                await self.session.execute(
                    update(EventSequence)
                    .where(EventSequence.id == 1)
                    .values(last_seq=EventSequence.last_seq + len(rows))
                    .returning(EventSequence.last_seq)
                )
            ).scalar_one()
            first = last - len(rows) + 1
            for offset, row in enumerate(rows):
                row["seq"] = first + offset
            await self.session.execute(insert(LoggedEvent), rows)
            return int(last)
        written = await self.statements.literal_rows(_append_sql(rows) + " RETURNING seq")
        return int(max(row[0] for row in written))

    async def append_with_the_commit(self, events: Sequence[OutgoingEvent]) -> None:
        """PostgreSQL: number and write `events` in the same message as the COMMIT
        (`UnitOfWork.finish_with`): the last statement of the transaction, as `append`'s is,
        and with the same guarantee (numbers taken in commit order, none skipped)."""
        self._uow.finish_with(_append_sql(await self._rows_of(events)))

    async def _rows_of(self, events: Sequence[OutgoingEvent]) -> list[dict[str, Any]]:
        locations = await self._codes("location", {e.location_id for e in events} - {None})
        skus = await self._codes("sku", {e.sku_id for e in events} - {None})
        rows = []
        for event in events:
            location = event.location or locations.get(event.location_id or 0)
            sku = event.sku or skus.get(event.sku_id or 0)
            data = dict(event.data)
            if "location" in data and data["location"] is None:
                data["location"] = location
            if "sku" in data and data["sku"] is None:
                data["sku"] = sku
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "type": event.type,
                    "occurred_at": event.occurred_at,
                    "location": location,
                    "other_location": event.other_location,
                    "sku": sku,
                    "channel": event.channel,
                    "data": data,
                }
            )
        return rows

    async def _codes(self, kind: str, ids: Collection[int | None]) -> dict[int, str]:
        wanted = {i for i in ids if i is not None}
        missing = [i for i in wanted if (kind, i) not in _CODES]
        if missing:
            query = (
                select(Location.id, Location.code).where(Location.id.in_(missing))
                if kind == "location"
                else select(Sku.id, Sku.sku.label("code")).where(Sku.id.in_(missing))
            )
            result = await self.session.execute(query)
            if len(_CODES) > _CODES_LIMIT:
                _CODES.clear()
            _CODES.update({(kind, row.id): row.code for row in result})
        return {i: _CODES[(kind, i)] for i in wanted if (kind, i) in _CODES}

    async def head(self) -> int:
        """The highest `seq` committed."""
        found = await self.session.scalar(
            select(EventSequence.last_seq).where(EventSequence.id == 1)
        )
        return int(found or 0)

    async def read(
        self, *, after: int, upto: int, wanted: EventFilter, scope: EventScope, limit: int
    ) -> list[EventView]:
        """Events with `after < seq <= upto` that `scope` admits and `wanted` asks for."""
        query = (
            select(LoggedEvent)
            .where(LoggedEvent.seq > after, LoggedEvent.seq <= upto)
            .order_by(LoggedEvent.seq)
            .limit(limit)
        )
        if wanted.types is not None:
            query = query.where(LoggedEvent.type.in_(sorted(wanted.types)))
        if wanted.location is not None:
            query = query.where(
                or_(
                    LoggedEvent.location == wanted.location,
                    LoggedEvent.other_location == wanted.location,
                )
            )
        if wanted.sku is not None:
            query = query.where(LoggedEvent.sku == wanted.sku)
        if scope.stock_and_channel is not None:
            query = query.where(
                or_(
                    LoggedEvent.type.in_(sorted(STOCK_TYPES)),
                    LoggedEvent.type.in_(sorted(ORDER_TYPES))
                    & (LoggedEvent.channel == scope.stock_and_channel),
                )
            )
        elif not scope.everything:
            stores = sorted(scope.stores)
            query = query.where(
                or_(LoggedEvent.location.in_(stores), LoggedEvent.other_location.in_(stores))
            )
        rows = (await self.session.execute(query)).scalars().all()
        return [
            EventView(
                seq=row.seq, id=row.id, type=row.type, occurred_at=row.occurred_at, data=row.data
            )
            for row in rows
        ]

    async def purge(self, before: datetime, batch: int = 5_000) -> int:
        """Delete up to `batch` events that occurred before `before`, oldest first."""
        oldest = (
            select(LoggedEvent.seq)
            .where(LoggedEvent.occurred_at < before)
            .order_by(LoggedEvent.seq)
            .limit(batch)
            .scalar_subquery()
        )
        result = await self.session.execute(delete(LoggedEvent).where(LoggedEvent.seq.in_(oldest)))
        return int(getattr(result, "rowcount", 0) or 0)

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(LoggedEvent)) or 0)


def event_writer(signal: EventSignal | None = None) -> Callable[..., Any]:
    """The `EVENTS_COMMITTING` listener: writes the transaction's events and, once it has
    committed, tells `signal` the last `seq` written."""

    async def write_events(uow: UnitOfWork, events: Sequence[OutgoingEvent]) -> None:
        if not uow.is_sqlite:
            await EventLog.of(uow).append_with_the_commit(events)
            if signal is not None:
                uow.after_commit(lambda: signal(None))  # numbered on the server, untold
            return
        last = await EventLog.of(uow).append(events)
        if signal is not None:
            uow.after_commit(lambda: signal(last))

    return write_events
