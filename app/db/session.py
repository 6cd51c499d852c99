"""Engine, sessions and the unit of work that owns every transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cached_property
from types import TracebackType
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.db import idempotency
from app.db.catalogue import CatalogueRepository
from app.db.ledger import Ledger
from app.db.orders import OrderRepository
from app.db.prepared import Statements


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


class Database:
    """One engine and its session factory, shared by the API process or a worker."""

    def __init__(self, database_url: str, pool_size: int = 20) -> None:
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

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def unit_of_work(self, *, readonly: bool = False) -> UnitOfWork:
        return UnitOfWork(self, readonly=readonly)

    @asynccontextmanager
    async def single_statements(self) -> AsyncIterator[Statements]:
        """For a write of one statement outside any unit of work (an idempotent response).
        On PostgreSQL it runs outside a transaction, so it commits by itself without BEGIN
        and COMMIT; on SQLite the transaction commits when the block ends."""
        async with self.engine.connect() as connection:
            yield Statements.on(connection, autocommit=not self.is_sqlite)
            await connection.commit()  # nothing to do unless SQLAlchemy began a transaction

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class UnitOfWork:
    """One transaction. Services open it with `async with`, call `commit()` when the use case
    is done; leaving the block without a commit rolls everything back.

    When the current request carries an Idempotency-Key, a write unit of work claims the key
    inside its own transaction, so the key is taken if and only if the work is committed.
    """

    statements: Statements

    def __init__(self, db: Database, *, readonly: bool = False):
        self._db = db
        self.readonly = readonly
        self._after_commit: list[Callable[[], None]] = []
        self._committed = False
        self._claimed_key = False
        self._session: AsyncSession | None = None
        self._reads: AsyncConnection | None = None

    async def __aenter__(self) -> UnitOfWork:
        if self.readonly:
            # Prepared reads take a pooled connection of their own, outside the ORM session,
            # which is only made if an ORM read needs it: a lookup then pays for no session.
            self.statements = Statements(self._open_reads, autocommit=not self._db.is_sqlite)
        else:
            self.statements = Statements(self.session.connection)
            await self._claim_idempotency_key()
        return self

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            db = self._db
            self._session = (db.readonly_sessionmaker if self.readonly else db.sessionmaker)()
        return self._session

    @cached_property
    def catalogue(self) -> CatalogueRepository:
        return CatalogueRepository(self.session, self.statements)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.session, self.statements, self._db.sessionmaker, self._after_commit)

    @cached_property
    def orders(self) -> OrderRepository:
        return OrderRepository(self.session, self.statements)

    async def _open_reads(self) -> AsyncConnection:
        self._reads = await self._db.prepared_reads_engine.connect()
        return self._reads

    async def _claim_idempotency_key(self) -> None:
        request = idempotency.current_request()
        if request is None or request.claimed:
            return
        try:
            await idempotency.insert_claim(self.statements, request)
        except IntegrityError:
            request.found_existing = True
            await self.session.close()  # __aexit__ does not run when __aenter__ raises
            raise idempotency.KeyAlreadyUsed() from None
        request.claimed = self._claimed_key = True

    async def commit(self) -> None:
        session = self.session
        if session.new or session.dirty or session.deleted:
            await session.flush()
        await self.orders.write_pending()
        await session.commit()
        self.statements.release()
        self._committed = True
        callbacks, self._after_commit[:] = list(self._after_commit), []
        for callback in callbacks:
            callback()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Closing rolls back anything uncommitted; loaded objects stay readable (detached)."""
        request = idempotency.current_request()
        if request is not None and self._claimed_key and not self._committed:
            request.claimed = False  # rolled back: the key is free for the next unit of work
        if self._reads is not None:
            await self._reads.close()
        if self._session is not None:
            await self._session.close()
