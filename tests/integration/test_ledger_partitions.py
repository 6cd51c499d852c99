"""The ledger partitioned by month (PostgreSQL, migration 0014): rows land in their month, the
upkeep job creates months ahead and archives old ones with their totals kept so that
level = totals + fold(movements) still holds, events read in seq order across months and
whole months past retention are dropped, and level reads never touch the ledger."""

from __future__ import annotations

import asyncio
import gzip
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.bootstrap import AppContext
from app.events.log_repository import EventLog
from app.events.model import EventFilter
from app.events.reading import purge_events, read_events
from app.inventory import availability
from app.inventory.archive import ArchiveMisconfigured, ArchivePlan, keep_ledger_bounded
from app.inventory.queries import _PICKUP_CANDIDATES
from app.platform import migrate
from app.platform.events import OutgoingEvent
from app.platform.partition_repository import Partitions, add_months, month_start
from app.platform.tables import utcnow
from tests.conftest import ADMIN, World

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgres_only(on_postgres: bool) -> None:
    if not on_postgres:
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")


async def _scalar(ctx: AppContext, sql: str, **params: Any) -> Any:
    async with ctx.uow(readonly=True) as uow:
        return await uow.session.scalar(text(sql), params)


async def _create_months(ctx: AppContext, table: str, first: datetime, count: int) -> None:
    async with ctx.uow() as uow:
        await Partitions.of(uow).create_ahead(table, first, count - 1)
        await uow.commit()


async def _history(
    ctx: AppContext, location: str, sku: str, at: datetime, deltas: list[int]
) -> None:
    """Movements written in the past (as years of trading would have), with the level moved
    by as much, as the ledger would have."""
    async with ctx.uow() as uow:
        for delta in deltas:
            await uow.session.execute(
                text(
                    "INSERT INTO stock_movements (sku_id, location_id, kind, on_hand_delta, "
                    "reserved_delta, safety_stock_delta, incoming_delta, channel, reference, "
                    "actor, created_at) SELECT k.id, l.id, 'adjustment', :delta, 0, 0, 0, "
                    "'admin', 'history', 'test', :at FROM skus k, locations l "
                    "WHERE k.sku = :sku AND l.code = :location"
                ),
                {"delta": delta, "at": at, "sku": sku, "location": location},
            )
        await uow.session.execute(
            text(
                "UPDATE stock_levels SET on_hand = on_hand + :total FROM skus k, locations l "
                "WHERE k.sku = :sku AND l.code = :location "
                "AND stock_levels.sku_id = k.id AND stock_levels.location_id = l.id"
            ),
            {"total": sum(deltas), "sku": sku, "location": location},
        )
        await uow.commit()


_BOOKS_OFF = """
SELECT count(*) FROM stock_levels v
LEFT JOIN movement_archive_totals t USING (sku_id, location_id)
LEFT JOIN (
    SELECT sku_id, location_id, sum(on_hand_delta) AS on_hand, sum(reserved_delta) AS reserved,
           sum(safety_stock_delta) AS safety, sum(incoming_delta) AS incoming
    FROM stock_movements GROUP BY sku_id, location_id
) m USING (sku_id, location_id)
WHERE v.on_hand <> coalesce(t.on_hand_delta, 0) + coalesce(m.on_hand, 0)
   OR v.reserved <> coalesce(t.reserved_delta, 0) + coalesce(m.reserved, 0)
   OR v.safety_stock <> coalesce(t.safety_stock_delta, 0) + coalesce(m.safety, 0)
   OR v.incoming <> coalesce(t.incoming_delta, 0) + coalesce(m.incoming, 0)
"""
"""Levels that are not their archived totals plus the fold of the movements left."""


async def test_movements_land_in_their_month(ctx: AppContext, world: World) -> None:
    await world.receive("STORE-A", "TEE-1", 5)
    now = utcnow()
    old = add_months(month_start(now), -5) + timedelta(days=3)
    await _create_months(ctx, "stock_movements", old, 1)
    await _history(ctx, "STORE-A", "TEE-1", old, [2, -2])
    await _history(ctx, "STORE-A", "TEE-1", old - timedelta(days=400), [1])
    where = await _scalar(
        ctx,
        "SELECT string_agg(DISTINCT tableoid::regclass::text, ',' ORDER BY "
        "tableoid::regclass::text) FROM stock_movements",
    )
    this_month = f"stock_movements_p{now.year:04d}_{now.month:02d}"
    that_month = f"stock_movements_p{old.year:04d}_{old.month:02d}"
    assert where.split(",") == sorted([this_month, that_month, "stock_movements_default"])
    async with ctx.uow() as uow:
        assert await Partitions.of(uow).default_rows("stock_movements") == 1
    assert await _scalar(ctx, _BOOKS_OFF) == 0


async def test_the_job_creates_months_ahead_and_archives_old_ones_keeping_the_books(
    ctx: AppContext, world: World
) -> None:
    await world.receive("STORE-A", "TEE-1", 10)
    await world.receive("STORE-B", "TEE-2", 4)
    now = utcnow()
    first = add_months(month_start(now), -27)
    await _create_months(ctx, "stock_movements", first, 4)  # months -27 .. -24
    await _history(ctx, "STORE-A", "TEE-1", first + timedelta(days=2), [7, -3, 2])
    await _history(ctx, "STORE-A", "TEE-1", add_months(first, 1), [-1])
    await _history(ctx, "STORE-B", "TEE-2", add_months(first, 2) + timedelta(hours=5), [6, -6])
    await _history(ctx, "STORE-B", "TEE-2", add_months(first, 3), [9])  # kept: 24 months
    before = await _scalar(ctx, "SELECT count(*) FROM stock_movements")

    directory = Path(tempfile.mkdtemp(prefix="omnistock-archive-"))
    upkeep = await keep_ledger_bounded(
        ctx, ArchivePlan(keep_months=24, mode="file", directory=directory), now=now
    )

    archived = [f"stock_movements_p{add_months(first, i).strftime('%Y_%m')}" for i in range(3)]
    assert upkeep.archived == archived
    assert sorted(Path(p).name for p in upkeep.written) == [f"{n}.csv.gz" for n in archived]
    assert await _scalar(ctx, "SELECT count(*) FROM stock_movements") == before - 6
    assert await _scalar(ctx, _BOOKS_OFF) == 0, "level = totals + fold(movements left)"
    async with ctx.uow(readonly=True) as uow:
        totals = (
            await uow.session.execute(
                text(
                    "SELECT l.code, k.sku, t.on_hand_delta, t.movements, t.archived_through "
                    "FROM movement_archive_totals t JOIN locations l ON l.id = t.location_id "
                    "JOIN skus k ON k.id = t.sku_id ORDER BY l.code"
                )
            )
        ).all()
    assert [(r.code, r.sku, r.on_hand_delta, r.movements) for r in totals] == [
        ("STORE-A", "TEE-1", 5, 4),
        ("STORE-B", "TEE-2", 0, 2),
    ]
    assert max(r.archived_through for r in totals) == add_months(first, 3)
    with gzip.open(directory / f"{archived[0]}.csv.gz", "rt") as dumped:
        lines = dumped.read().splitlines()
    assert lines[0].startswith("id,sku_id,location_id,kind") and len(lines) == 1 + 3
    assert await _scalar(ctx, "SELECT to_regclass(:n)", n=f"archive.{archived[0]}") is None

    months = {p.month for p in await _months(ctx, "stock_movements")}
    assert {add_months(month_start(now), i) for i in range(4)} <= months, "3 months ahead"
    assert not months & {add_months(first, i) for i in range(3)}

    # the next run has nothing more to archive; new movements still go in
    again = await keep_ledger_bounded(
        ctx, ArchivePlan(keep_months=24, mode="file", directory=directory), now=now
    )
    assert again.archived == [] and again.created == []
    await world.receive("STORE-A", "TEE-1", 1)
    assert await _scalar(ctx, _BOOKS_OFF) == 0


async def test_archiving_to_the_archive_schema_moves_the_month_there(
    ctx: AppContext, world: World
) -> None:
    await world.receive("STORE-A", "MUG-1", 3)
    old = add_months(month_start(utcnow()), -40)
    await _create_months(ctx, "stock_movements", old, 1)
    await _history(ctx, "STORE-A", "MUG-1", old, [4, -1])
    name = f"stock_movements_p{old.strftime('%Y_%m')}"
    try:
        upkeep = await keep_ledger_bounded(ctx, ArchivePlan(keep_months=24))
        assert upkeep.archived == [name]
        assert await _scalar(ctx, f"SELECT count(*) FROM archive.{name}") == 2
        assert await _scalar(ctx, _BOOKS_OFF) == 0
    finally:
        async with ctx.uow() as uow:
            await uow.session.execute(text(f"DROP TABLE IF EXISTS archive.{name}"))
            await uow.commit()


async def test_archiving_to_files_without_a_directory_is_refused(ctx: AppContext) -> None:
    with pytest.raises(ArchiveMisconfigured, match="ARCHIVE_DIR"):
        await keep_ledger_bounded(ctx, ArchivePlan(keep_months=24, mode="file"))
    missing = Path(tempfile.mkdtemp()) / "missing"
    with pytest.raises(ArchiveMisconfigured, match="not a writable directory"):
        await keep_ledger_bounded(ctx, ArchivePlan(24, mode="file", directory=missing))
    with pytest.raises(ArchiveMisconfigured, match="LEDGER_ARCHIVE"):
        await keep_ledger_bounded(ctx, ArchivePlan(24, mode="tape"))


async def _months(ctx: AppContext, table: str) -> list[Any]:
    async with ctx.uow(readonly=True) as uow:
        return await Partitions.of(uow).months(table)


async def test_events_read_in_seq_order_across_months_and_old_months_are_dropped(
    ctx: AppContext,
) -> None:
    now = utcnow()
    oldest = add_months(month_start(now), -3)
    await _create_months(ctx, "event_log", oldest, 3)
    ages = [now, oldest + timedelta(days=1), now - timedelta(days=45), now, oldest]
    async with ctx.uow() as uow:
        await EventLog.of(uow).append(
            [OutgoingEvent(type="stock.changed", occurred_at=at) for at in ages]
        )
        await uow.commit()
    page = await read_events(ctx, ADMIN, after=1, wanted=EventFilter(), limit=3)
    assert [e.seq for e in page.items] == [2, 3, 4]
    assert [e.occurred_at for e in page.items] == ages[1:4]

    # month -3 is past 40 days as a whole: dropped; the event 45 days old deleted as a row
    assert await purge_events(ctx, keep_days=40) == 3
    assert oldest not in {p.month for p in await _months(ctx, "event_log")}
    page = await read_events(ctx, ADMIN, after=0, wanted=EventFilter(), limit=10)
    assert [e.seq for e in page.items] == [1, 4]


async def test_level_reads_never_touch_the_ledger(ctx: AppContext, world: World) -> None:
    """The statements of the stock reads and of the availability lookup, explained: no plan
    reads stock_movements or event_log."""
    await world.receive("STORE-A", "TEE-1", 5)
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    engine = ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await availability.stock_of_sku(ctx, "TEE-1")
        await availability.stock_level(ctx, "TEE-1", "STORE-A")
        async with ctx.uow(readonly=True) as uow:
            connection = await uow.session.connection()
            dialect = connection.dialect
            params = {
                "codes": ["TEE-1", "TEE-2"],
                "quantity": 1,
                "min_lat": 51.0,
                "max_lat": 52.0,
                "min_lon": -1.0,
                "max_lon": 1.0,
            }
            await connection.execute(
                _PICKUP_CANDIDATES.for_dialect(dialect),
                _PICKUP_CANDIDATES.params_for(dialect, params),
            )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    levels = [s for s, _ in seen if "stock_levels" in s]
    assert len(levels) >= 3, seen
    async with ctx.uow(readonly=True) as uow:
        connection = await uow.session.connection()
        for statement, parameters in seen:
            plan = "\n".join(
                row[0]
                for row in await connection.exec_driver_sql("EXPLAIN " + statement, parameters)
            )
            assert "stock_movements" not in plan and "event_log" not in plan, plan


def test_the_migration_keeps_the_rows_both_ways(database_url: str) -> None:
    """0013 -> 0014 -> 0013 on a database with movements and events of several months."""
    fresh = "omnistock_partition_check"
    admin_url = str(make_url(database_url).set(database="postgres"))
    url = str(make_url(database_url).set(database=fresh).render_as_string(hide_password=False))

    async def recreate(drop_only: bool = False) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {fresh} WITH (FORCE)"))
            if not drop_only:
                await connection.execute(text(f"CREATE DATABASE {fresh}"))
        await engine.dispose()

    async def run(*statements: str) -> list[Any]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                results = [await connection.execute(text(s)) for s in statements]
                return [r.all() if r.returns_rows else [] for r in results]
        finally:
            await engine.dispose()

    snapshot = (
        "SELECT id, sku_id, on_hand_delta, created_at FROM stock_movements ORDER BY id",
        "SELECT seq, id, occurred_at FROM event_log ORDER BY seq",
    )
    asyncio.run(recreate())
    try:
        migrate.upgrade(url, "0013")
        asyncio.run(
            run(
                "INSERT INTO locations (code, name, kind, latitude, longitude, pickup_enabled, "
                "ship_enabled, default_safety_stock, created_at, timezone, opening_hours, "
                "closed_dates, pickup_lead_minutes, pickup_paused) VALUES ('A', 'A', 'store', "
                "0, 0, true, false, 0, now(), 'UTC', '{}', '[]', 60, false)",
                "INSERT INTO skus (sku, name, price_minor, currency, created_at, updated_at) "
                "VALUES ('S', 'S', 1, 'GBP', now(), now())",
                "INSERT INTO stock_movements (sku_id, location_id, kind, on_hand_delta, "
                "reserved_delta, safety_stock_delta, incoming_delta, channel, actor, created_at) "
                "SELECT 1, 1, 'receipt', g, 0, 0, 0, 'admin', 'x', now() - g * interval '25 days' "
                "FROM generate_series(0, 20) AS g",
                "INSERT INTO event_log SELECT g, gen_random_uuid(), 'stock.changed', "
                "now() - g * interval '25 days', NULL, NULL, NULL, NULL, '{}' "
                "FROM generate_series(1, 20) AS g",
                "UPDATE event_sequence SET last_seq = 20",
            )
        )
        before = asyncio.run(run(*snapshot))
        migrate.upgrade(url, "0014")
        after = asyncio.run(run(*snapshot))
        assert after == before
        [[(partitions,)], [(in_default,)], [(new_id,)]] = asyncio.run(
            run(
                "SELECT count(*) FROM pg_inherits WHERE inhparent = 'stock_movements'::regclass",
                "SELECT count(*) FROM stock_movements_default",
                "INSERT INTO stock_movements (sku_id, location_id, kind, on_hand_delta, "
                "reserved_delta, safety_stock_delta, incoming_delta, channel, actor, created_at) "
                "VALUES (1, 1, 'receipt', 1, 0, 0, 0, 'admin', 'x', now()) RETURNING id",
            )
        )
        assert partitions >= 17 + 3 + 1, "a month from the oldest row, 3 ahead, DEFAULT"
        assert in_default == 0 and new_id == 22, "the numbering goes on"
        migrate.downgrade(url, "0013")
        assert asyncio.run(run(*snapshot))[1] == before[1]
        [[(kind,)]] = asyncio.run(
            run("SELECT relkind::text FROM pg_class WHERE relname = 'stock_movements'")
        )
        assert kind == "r"
    finally:
        asyncio.run(recreate(drop_only=True))
