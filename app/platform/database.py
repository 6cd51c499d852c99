"""Engine and session factories for PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

from app.platform import replica as reads
from app.platform.prepared import Statements
from app.platform.replica import ReadReplica, ReplicaSettings


def create_engine(database_url: str, pool_size: int = 20) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, connect_args={"timeout": 30})
        _make_sqlite_serialise_writers(engine)
        return engine
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping (it costs two round trips per checkout): a connection found dead
        # mid-request fails that request with a 503, and the disconnect invalidates every
        # pooled connection of that age, so the next requests reconnect.
        pool_recycle=1800,
        # Last in, first out: the busiest few connections serve most requests, so their
        # backends stay warm in the CPU's caches and the rest sit idle. First in, first out
        # (the default) turned requests over every pooled connection: PostgreSQL spent
        # 0.45-0.50 ms of CPU per lookup that way against 0.37-0.40 ms (bench/open_loop.py).
        pool_use_lifo=True,
    )


def _make_sqlite_serialise_writers(engine: AsyncEngine) -> None:
    """SQLite has no row locks: writers take the database lock up front (BEGIN IMMEDIATE),
    so read-decide-write inside a transaction is as safe as SELECT ... FOR UPDATE is on
    PostgreSQL. WAL keeps readers going while one writer works."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        readonly = connection.get_execution_options().get("omnistock_readonly", False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def _note_every_commit(engine: AsyncEngine) -> None:
    """Read-your-writes counts every commit on the primary, not only units of work's (the
    ledger's side transactions, a test's direct writes): noted when the connection goes back
    to the pool, once the COMMIT has returned (the `commit` event comes before it)."""

    @event.listens_for(engine.sync_engine, "commit")
    def _committing(connection: Any) -> None:
        connection.info["omnistock_committed"] = True

    @event.listens_for(engine.sync_engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record.info.pop("omnistock_committed", False):
            reads.note_write()


class Database:
    """One engine and its session factory, shared by the API process or a worker."""

    def __init__(
        self, database_url: str, pool_size: int = 20, replica: ReplicaSettings | None = None
    ) -> None:
        self.url = database_url
        self.engine = create_engine(database_url, pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        readonly: dict[str, Any] = {"omnistock_readonly": True}
        if not self.is_sqlite:
            # Reads under READ COMMITTED see a fresh snapshot per statement anyway, so
            # skipping BEGIN/ROLLBACK changes nothing but two round trips.
            readonly["isolation_level"] = "AUTOCOMMIT"
        readonly_engine = self.engine.execution_options(**readonly)
        self.readonly_sessionmaker = async_sessionmaker(readonly_engine, expire_on_commit=False)
        # Prepared reads run on the driver outside any transaction on PostgreSQL, so their
        # connections need no options (setting an isolation level at every checkout cost a
        # lookup more than its query); SQLite has to know they only read.
        self.prepared_reads_engine = readonly_engine if self.is_sqlite else self.engine
        self.replica = None if replica is None else ReadReplica(replica, self.engine)
        if replica is not None:
            _note_every_commit(self.engine)

    async def source_of_reads(self) -> Database | ReadReplica:
        """Where a read that may be served by the replica goes now: there when this is a GET
        request and the replica holds the caller's writes and is within the lag bound
        (`app/platform/replica.py`), else here."""
        replica = self.replica
        if replica is None or not reads.may_read_replica():
            return self
        if await replica.serves(reads.writes_to_see()):
            reads.READS.labels(source="replica").inc()
            reads.note_served_by_replica()
            return replica
        reads.READS.labels(source="primary").inc()
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @asynccontextmanager
    async def single_statements(self) -> AsyncIterator[Statements]:
        """For a write of one statement outside any unit of work (an idempotent response).
        On PostgreSQL it runs outside a transaction, so it commits by itself without BEGIN
        and COMMIT; on SQLite the transaction commits when the block ends."""
        async with self.engine.connect() as connection:
            yield Statements.on(connection, autocommit=not self.is_sqlite)
            await connection.commit()  # nothing to do unless SQLAlchemy began a transaction
        reads.note_write()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def check_replica(self) -> None:
        """At start: refuse a DATABASE_READ_URL that is unreachable or not a replica."""
        if self.replica is not None:
            await self.replica.check()

    async def dispose(self) -> None:
        if self.replica is not None:
            await self.replica.dispose()
        await self.engine.dispose()
