"""A reader that always asks `after=` the last `seq` it saw misses nothing, even when
transactions commit in another order than they began (issue "Events out", item 1).

The naive design, numbering events from a PostgreSQL sequence, fails this: a transaction
draws 1, a later one draws 2 and commits first, a reader moves its mark to 2, then 1 commits
below the mark and is never read. `test_a_sequence_lets_a_reader_skip` shows that on a
sequence-numbered table; the same interleaving against the event log
(`app/events/log_repository.py`, numbered at the commit) skips nothing, and so does a storm
of concurrent writers with a reader polling all the while.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.bootstrap import AppContext
from app.events.log_repository import EventLog
from app.events.model import EventFilter
from app.events.reading import read_events
from app.platform.events import OutgoingEvent
from app.platform.tables import utcnow
from tests.conftest import ADMIN


def _event(n: int) -> OutgoingEvent:
    return OutgoingEvent(type="stock.changed", occurred_at=utcnow(), data={"n": n})


async def _read_all_after(ctx: AppContext, after: int) -> tuple[list[int], int]:
    page = await read_events(ctx, ADMIN, after=after, wanted=EventFilter(), limit=1000)
    return [event.seq for event in page.items], page.next_after


async def test_a_sequence_lets_a_reader_skip(database_url: str, on_postgres: bool) -> None:
    """The design this log does not use, on a plain table numbered by a sequence."""
    if not on_postgres:
        pytest.skip("the race is PostgreSQL's sequences under concurrent commits")
    engine: AsyncEngine = create_async_engine(database_url)
    try:
        async with engine.begin() as setup:
            await setup.execute(text("DROP TABLE IF EXISTS naive_events"))
            await setup.execute(text("CREATE TABLE naive_events (seq bigserial PRIMARY KEY)"))
        async with engine.connect() as first, engine.connect() as second:
            await first.begin()
            await first.execute(text("INSERT INTO naive_events DEFAULT VALUES"))  # draws 1
            await second.begin()
            await second.execute(text("INSERT INTO naive_events DEFAULT VALUES"))  # draws 2
            await second.commit()
            async with engine.connect() as reader:
                seen = (await reader.execute(text("SELECT seq FROM naive_events"))).scalars()
                mark = max(seen)
            await first.commit()
        async with engine.connect() as reader:
            later = (
                (
                    await reader.execute(
                        text("SELECT seq FROM naive_events WHERE seq > :m"), {"m": mark}
                    )
                )
                .scalars()
                .all()
            )
        assert mark == 2 and later == [], "event 1 committed below the reader's mark: skipped"
    finally:
        async with engine.begin() as cleanup:
            await cleanup.execute(text("DROP TABLE IF EXISTS naive_events"))
        await engine.dispose()


async def test_the_log_numbers_at_the_commit(ctx: AppContext, on_postgres: bool) -> None:
    """The same interleaving on the event log: the second writer waits for the first's
    commit to take its number, and the reader never passes an uncommitted event."""
    if not on_postgres:
        pytest.skip("SQLite runs one writer at a time: there is no interleaving to show")
    first = ctx.uow()
    await first.__aenter__()
    try:
        await EventLog.of(first).append([_event(1)])  # number 1, counter row locked

        async def second_writer() -> None:
            async with ctx.uow() as second:
                await EventLog.of(second).append([_event(2)])
                await second.commit()

        second = asyncio.create_task(second_writer())
        await asyncio.sleep(0.3)
        assert not second.done(), "the second writer waits for the counter row"
        assert await _read_all_after(ctx, 0) == ([], 0), "nothing committed, nothing read"
        await first.commit()
    finally:
        await first.__aexit__(None, None, None)
    await second
    seen, mark = await _read_all_after(ctx, 0)
    assert seen == [1, 2] and mark == 2


async def test_racing_writers_and_a_polling_reader(ctx: AppContext) -> None:
    """Writers that hold their transactions open for random times after writing, and a
    reader polling `after=` all the while: it sees every event once, in order."""
    writers, each = 12, 8
    rng = random.Random(5)
    pauses = [[rng.uniform(0, 0.02) for _ in range(each)] for _ in range(writers)]
    done = asyncio.Event()

    async def writer(delays: list[float]) -> None:
        for delay in delays:
            async with ctx.uow() as uow:
                await EventLog.of(uow).append([_event(1), _event(2)])
                await asyncio.sleep(delay)  # committed later than it numbered? never
                await uow.commit()

    async def reader() -> list[int]:
        seen: list[int] = []
        mark = 0
        while True:
            finished = done.is_set()
            batch, mark = await _read_all_after(ctx, mark)
            seen += batch
            if finished and not batch:
                return seen
            await asyncio.sleep(0.001)

    polling = asyncio.create_task(reader())
    await asyncio.gather(*(writer(d) for d in pauses))
    done.set()
    seen = await polling
    assert seen == list(range(1, writers * each * 2 + 1))
