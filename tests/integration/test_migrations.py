"""The Alembic migrations alone build the whole schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.platform import migrate
from app.platform.partition_repository import include_name
from app.schema import metadata
from tests.support.database import is_postgres


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": include_name}
    )
    return list(compare_metadata(context, metadata()))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _inspect(url: str) -> tuple[list[Any], set[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return (await connection.run_sync(_differences), await connection.run_sync(_tables))
    finally:
        await engine.dispose()


def _check_round_trip(url: str) -> None:
    migrate.upgrade(url)
    differences, tables = asyncio.run(_inspect(url))
    assert differences == [], "the models and the migrations disagree"
    assert set(metadata().tables) <= tables
    migrate.downgrade(url, "base")
    _, tables = asyncio.run(_inspect(url))
    assert tables <= {"alembic_version"}
    migrate.upgrade(url)


def test_migrations_build_the_schema_on_an_empty_sqlite_file() -> None:
    path = Path(tempfile.mkdtemp(prefix="omnistock-migrate-")) / "fresh.db"
    _check_round_trip(f"sqlite+aiosqlite:///{path}")


@pytest.mark.postgres
def test_migrations_build_the_schema_on_an_empty_postgres_database(database_url: str) -> None:
    if not is_postgres(database_url):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
    fresh = "omnistock_migration_check"
    admin_url = str(make_url(database_url).set(database="postgres"))

    async def recreate(drop_only: bool = False) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {fresh}"))
            if not drop_only:
                await connection.execute(text(f"CREATE DATABASE {fresh}"))
        await engine.dispose()

    asyncio.run(recreate())
    try:
        _check_round_trip(
            str(make_url(database_url).set(database=fresh).render_as_string(hide_password=False))
        )
    finally:
        asyncio.run(recreate(drop_only=True))
