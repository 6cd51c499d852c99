"""The unit of work: exactly one transaction, and the repositories that work inside it.

A use case opens one with `async with ctx.uow() as uow:` (or `ctx.uow(readonly=True)` when it
only reads; `ctx.uow(readonly=True, replica=True)` when a GET's answer may come from the read
replica, see `app/platform/replica.py`), asks for the repositories it needs
(`OrderRepository.of(uow)`) and calls `commit()`; leaving the block without a commit rolls
everything back. Only repositories touch the session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app.platform import replica as reads
from app.platform.database import Database
from app.platform.events import EVENTS_COMMITTING, OutgoingEvent
from app.platform.prepared import Statements
from app.platform.replica import ReadReplica

BeginHook = Callable[["UnitOfWork"], Awaitable[None]]
"""Runs as a write unit of work begins, inside its transaction (the Idempotency-Key claim)."""

Listener = Callable[..., Awaitable[None]]
"""Told of something a repository did, inside the same transaction (see `UnitOfWork.notify`)."""

R = TypeVar("R", bound="Repository")


class UnitOfWork:
    statements: Statements

    def __init__(
        self,
        db: Database,
        *,
        readonly: bool = False,
        replica: bool = False,
        on_begin: Sequence[BeginHook] = (),
        listeners: Mapping[str, Sequence[Listener]] | None = None,
    ) -> None:
        self._db = db
        self.readonly = readonly
        self._may_use_replica = replica
        self._reads_from: Database | ReadReplica = db
        self._on_begin = on_begin
        self._listeners = listeners or {}
        self._repositories: dict[type[Repository], Repository] = {}
        self._before_commit: list[Callable[[], Awaitable[None]]] = []
        self._after_commit: list[Callable[[], None]] = []
        self._on_rollback: list[Callable[[], None]] = []
        self._events: list[OutgoingEvent] = []
        self._finishing: list[str] = []
        self._committed = False
        self._session: AsyncSession | None = None
        self._reads: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        if self.readonly:
            # Prepared reads take a pooled connection of their own, outside the ORM session,
            # which is only made if an ORM read needs it: a lookup then pays for no session.
            if self._may_use_replica:
                self._reads_from = await self._db.source_of_reads()
            self.statements = Statements(self._open_reads, autocommit=not self._db.is_sqlite)
            return self
        self.statements = Statements(self.session.connection)
        try:
            for hook in self._on_begin:
                await hook(self)
        except BaseException:
            await self._close()  # __aexit__ does not run when __aenter__ raises
            raise
        return self

    @property
    def session(self) -> AsyncSession:
        """The ORM session of this transaction: for repositories, never for use cases."""
        if self._session is None:
            db = self._db
            if self.readonly:
                self._session = self._reads_from.readonly_sessionmaker()
            else:
                self._session = db.sessionmaker()
            self._session.info["uow"] = self  # for ORM listeners that emit events
        return self._session

    @property
    def side_sessions(self) -> async_sessionmaker[AsyncSession]:
        """Sessions for a short transaction of their own (the ledger creating missing levels)."""
        return self._db.sessionmaker

    @property
    def is_sqlite(self) -> bool:
        return self._db.is_sqlite

    def repository(self, kind: type[R]) -> R:
        """This unit of work's one instance of a repository class."""
        found = self._repositories.get(kind)
        if found is None:
            found = self._repositories[kind] = kind(self)
        return found  # type: ignore[return-value]

    def before_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Runs once, just before the commit (a repository writing the rows it queued)."""
        if callback not in self._before_commit:
            self._before_commit.append(callback)

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    def on_rollback(self, callback: Callable[[], None]) -> None:
        self._on_rollback.append(callback)

    def emit(self, event: OutgoingEvent) -> None:
        """Queue an event of this transaction's change; written with it (see `commit`)."""
        if self.readonly:
            raise RuntimeError("a read-only unit of work changes nothing, so emits nothing")
        self._events.append(event)

    def finish_with(self, statement: str) -> None:
        """PostgreSQL: a statement without parameters (its values literals) that ends this
        transaction: sent in one message with the COMMIT, so the server runs it and commits
        without waiting on this process in between (what the event log's counter row lock,
        taken last, needs). Queued by a `EVENTS_COMMITTING` listener."""
        self._finishing.append(statement)

    async def notify(self, topic: str, *args: Any) -> None:
        """Tells the listeners the composition root registered for `topic`, in this transaction."""
        for listener in self._listeners.get(topic, ()):
            await listener(self, *args)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A part of the transaction that rolls back alone when its block raises."""
        emitted = len(self._events)
        try:
            async with self.session.begin_nested():
                # SQLAlchemy sends the SAVEPOINT only when the session is next asked for its
                # connection, and prepared statements run on the connection they already hold
                # (app/platform/prepared.py): ask now, or their writes in this block would be
                # outside the savepoint and stay when it rolls back.
                await self.session.connection()
                yield
        except BaseException:
            del self._events[emitted:]  # the change they describe is gone
            raise

    async def commit(self) -> None:
        session = self.session
        if session.new or session.dirty or session.deleted:
            await session.flush()
        for write_queued_rows in self._before_commit:
            await write_queued_rows()
        if session.new or session.dirty or session.deleted:
            await session.flush()  # what the callbacks changed may emit events too
        if self._events:
            # Last: the event log numbers the events under a lock held until the commit.
            events, self._events = self._events, []
            await self.notify(EVENTS_COMMITTING, events)
        if self._finishing:
            finishing, self._finishing = self._finishing, []
            await self.statements.run_with_the_commit(finishing)
        await session.commit()
        reads.note_write()
        self.statements.release()
        self._committed = True
        after_commit, self._after_commit = self._after_commit, []
        for callback in after_commit:
            callback()

    async def _open_reads(self) -> AsyncConnection:
        self._reads = await self._reads_from.prepared_reads_engine.connect()
        return self._reads

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Closing rolls back anything uncommitted; loaded objects stay readable (detached)."""
        if (
            exc is not None
            and isinstance(self._reads_from, ReadReplica)
            and reads.is_replica_failure(exc)
        ):
            self._reads_from.failed(exc)  # the request is asked again of the primary
        await self._close()

    async def _close(self) -> None:
        if not self._committed:
            for callback in self._on_rollback:
                callback()
        if self._reads is not None:
            await self._reads.close()
        if self._session is not None:
            await self._session.close()


class Repository:
    """A repository works inside one unit of work: `SomeRepository.of(uow)`."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self.statements = uow.statements

    @classmethod
    def of(cls, uow: UnitOfWork) -> Self:
        return uow.repository(cls)

    @property
    def session(self) -> AsyncSession:
        return self._uow.session
