"""The test database: PostgreSQL when TEST_DATABASE_URL (or DATABASE_URL) names one, otherwise
a throwaway SQLite file. The schema always comes from the Alembic migrations."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.config import normalise_database_url
from app.events.log_repository import forget_codes
from app.platform import migrate
from app.platform.replica import note_write
from app.schema import metadata


def test_database_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        path = Path(tempfile.mkdtemp(prefix="omnistock-test-")) / "test.db"
        url = f"sqlite:///{path}"
    return normalise_database_url(url)


def test_read_database_url(primary_url: str) -> str | None:
    """The streaming replica of the test database (TEST_DATABASE_READ_URL), PostgreSQL only:
    then every test runs against the pair, as CI does (`.ci/run`)."""
    url = os.environ.get("TEST_DATABASE_READ_URL")
    if not url or not is_postgres(primary_url):
        return None
    return normalise_database_url(url)


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def reset_schema(url: str) -> None:
    """Empty the database and migrate it from nothing, as a fresh install would."""
    if is_postgres(url):
        database = make_url(url).database or ""
        if "test" not in database:
            raise RuntimeError(f"refusing to wipe {database!r}: its name must contain 'test'")
        asyncio.run(_recreate_public_schema(url))
    else:
        path = make_url(url).database
        if path:
            for suffix in ("", "-wal", "-shm"):
                Path(path + suffix).unlink(missing_ok=True)
    migrate.upgrade(url)


TABLES_IN_DELETE_ORDER = [t.name for t in reversed(metadata().sorted_tables)]


async def _recreate_public_schema(url: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        # where the ledger's upkeep moves archived partitions (app/inventory/archive.py)
        await connection.execute(text("DROP SCHEMA IF EXISTS archive CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def truncate_all(engine: AsyncEngine) -> None:
    forget_codes()  # ids start again, so codes cached by id are stale
    async with engine.begin() as connection:
        existing = set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
        tables = [name for name in TABLES_IN_DELETE_ORDER if name in existing]
        if engine.dialect.name == "postgresql":
            names = ", ".join(tables)
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await connection.execute(text(f"DELETE FROM {name}"))
        if "event_sequence" in existing:
            # the one row the migration seeds: the event log numbers from it
            await connection.execute(
                text("INSERT INTO event_sequence (id, last_seq) VALUES (1, 0)")
            )
    note_write()  # the next test's reads see the empty tables, on the replica too
