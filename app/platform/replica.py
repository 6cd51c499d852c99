"""Reads on a PostgreSQL streaming replica: bounded staleness and read-your-writes.

A read-only unit of work that says it may be served by the replica
(`ctx.uow(readonly=True, replica=True)`) goes there only inside a GET request, and only when
the replica is known to hold everything the primary had committed before

- the caller's last write in this process (an API key or a person of the staff; with
  `READ_YOUR_WRITES=process`, any write of this process: the tests' setting), and
- `READ_MAX_LAG_SECONDS` ago.

Otherwise it reads the primary. How fresh the replica is comes from a probe run in the
background while replica reads flow: at time T it reads the primary's `pg_current_wal_lsn()`
and then waits (up to the lag bound) until the replica's `pg_last_wal_replay_lsn()` has
reached it; from then on `fresh_as_of = T`. A commit that returned before T has its commit
record at or below that position, so comparing a write's local time with T costs writes no
round trip. A replica that errors is left alone for `DOWN_SECONDS`; every fallback is counted
(`omnistock_replica_fallbacks_total{reason}`) and logged once per spell.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

log = structlog.get_logger("omnistock.replica")

PROBE_EVERY_SECONDS = 0.1
"""While replica reads flow, how often the probe asks again how fresh the replica is."""
DOWN_SECONDS = 1.0
"""After an error on the replica, how long reads leave it alone before it is probed again."""
REPLAY_POLL_SECONDS = 0.001
MAX_PROBES_IN_FLIGHT = 4
FORGET_WRITES_AFTER_SECONDS = 60.0
"""A caller's write older than this no longer matters: the lag bound is at most this."""

READS = Counter(
    "omnistock_reads_total",
    "Read-only units of work that could be served by the replica, by where they went.",
    ["source"],
)
FALLBACKS = Counter(
    "omnistock_replica_fallbacks_total",
    "Replica-eligible reads sent to the primary: stale (beyond READ_MAX_LAG_SECONDS), "
    "behind the caller's own writes, the replica down, or answered again after a 404 or an "
    "error from the replica.",
    ["reason"],
)


# Who is calling, and what this request may read ----------------------------------------------
@dataclass
class RequestReads:
    """One HTTP request's routing: the caller (for read-your-writes) and whether its
    replica-eligible reads may go to the replica (GET requests, unless asked again)."""

    replica_allowed: bool
    caller: str | None = None
    served_by_replica: bool = False


_request: ContextVar[RequestReads | None] = ContextVar("omnistock_request_reads", default=None)


def begin_request(replica_allowed: bool) -> tuple[RequestReads, Any]:
    """The routing state of a request beginning in this task; `end_request(token)` after."""
    state = RequestReads(replica_allowed)
    return state, _request.set(state)


def end_request(token: Any) -> None:
    _request.reset(token)


def identify_caller(caller: str) -> None:
    """The request's caller is known (an API key's id, a person's id): their writes and reads
    are matched for read-your-writes."""
    state = _request.get()
    if state is not None:
        state.caller = caller


# When the writes were ----------------------------------------------------------------------
class _Writes:
    """This process's last write, and each caller's (monotonic times)."""

    def __init__(self) -> None:
        self.mode = "caller"
        self.last = -math.inf
        self.by_caller: dict[str, float] = {}


_writes = _Writes()


def read_your_writes_by(mode: str) -> None:
    """`caller` (each API key or person sees their own writes) or `process` (every read sees
    every earlier write of this process: tests, whose fixtures write without a caller)."""
    _writes.mode = mode


def note_write() -> None:
    """A write just committed (call after the COMMIT returned)."""
    now = _writes.last = time.monotonic()
    state = _request.get()
    if state is not None and state.caller is not None:
        by_caller = _writes.by_caller
        if len(by_caller) > 10_000:
            horizon = now - FORGET_WRITES_AFTER_SECONDS
            for caller in [c for c, t in by_caller.items() if t < horizon]:
                del by_caller[caller]
        by_caller[state.caller] = now


def writes_to_see() -> float:
    """The time of the last write the current read must see: the caller's own, or (without a
    caller, or with READ_YOUR_WRITES=process) this process's."""
    state = _request.get()
    if _writes.mode == "process" or state is None or state.caller is None:
        return _writes.last
    return _writes.by_caller.get(state.caller, -math.inf)


def may_read_replica() -> bool:
    """Replica reads happen in GET requests only: a read that decides a write reads the
    primary, and outside requests (workers, the stream's tailer, the CLI) nothing waits."""
    state = _request.get()
    return state is not None and state.replica_allowed


def note_served_by_replica() -> None:
    state = _request.get()
    if state is not None:
        state.served_by_replica = True


def served_by_replica() -> bool:
    state = _request.get()
    return state is not None and state.served_by_replica


def read_again_on_primary() -> None:
    """The rest of this request reads the primary (its answer from the replica was a 404 or
    an error)."""
    state = _request.get()
    if state is not None:
        state.replica_allowed = False
        state.served_by_replica = False


def is_replica_failure(error: BaseException) -> bool:
    """The replica, not the request, failed: it went away, or cancelled the query because of
    a conflict with recovery (SQLSTATE 40001)."""
    if isinstance(error, (OperationalError, InterfaceError, OSError)):
        return True
    if isinstance(error, DBAPIError):
        sqlstate = str(getattr(error.orig, "sqlstate", "") or "")
        return error.connection_invalidated or sqlstate.startswith("40")
    return False


# The replica -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplicaSettings:
    url: str
    max_lag_seconds: float = 1.0
    catch_up_seconds: float = 0.0
    pool_size: int = 20


class ReadReplica:
    """The replica's engine and session factory, and how fresh it is."""

    def __init__(self, settings: ReplicaSettings, primary: AsyncEngine) -> None:
        self.settings = settings
        self.engine = create_async_engine(
            settings.url,
            pool_size=settings.pool_size,
            max_overflow=settings.pool_size,
            pool_recycle=1800,
            pool_use_lifo=True,  # warm backends, as on the primary (app/platform/database.py)
        )
        readonly_engine = self.engine.execution_options(
            isolation_level="AUTOCOMMIT", omnistock_readonly=True
        )
        self.readonly_sessionmaker = async_sessionmaker(readonly_engine, expire_on_commit=False)
        self.prepared_reads_engine = self.engine
        self._primary = primary
        self.fresh_as_of = -math.inf
        """A monotonic time: everything the primary committed before it is on the replica."""
        self._down_until = -math.inf
        self._probes: set[asyncio.Task[None]] = set()
        self._latest_probe: asyncio.Task[None] | None = None
        self._probe_started = -math.inf
        self._complained: str | None = None

    async def check(self) -> None:
        """Refuse to start with a replica that cannot be reached or is not one."""
        try:
            async with self.engine.connect() as connection:
                in_recovery = await connection.scalar(text("SELECT pg_is_in_recovery()"))
        except (DBAPIError, OSError) as error:
            raise SystemExit(f"DATABASE_READ_URL cannot be reached: {error}") from error
        if not in_recovery:
            raise SystemExit(
                "DATABASE_READ_URL is not a replica in recovery (pg_is_in_recovery() is false): "
                "reads there would not follow the primary. Point it at a streaming replica."
            )

    async def serves(self, writes_before: float) -> bool:
        """Whether a read that must see every write committed before `writes_before` may go
        to the replica now (else to the primary, counted)."""
        now = time.monotonic()
        if now < self._down_until:
            return self._fallback("replica_down")
        if now - self._probe_started >= PROBE_EVERY_SECONDS:
            self._start_probe(now)
        if self._fresh(writes_before, now):
            return True
        if self.settings.catch_up_seconds > 0:
            await self._catch_up(max(writes_before, now - self.settings.max_lag_seconds))
            now = time.monotonic()
            if self._fresh(writes_before, now):
                return True
        if now - self.fresh_as_of > self.settings.max_lag_seconds:
            return self._fallback("stale")
        return self._fallback("behind_own_writes")

    def failed(self, error: BaseException) -> None:
        """A read on the replica failed: leave it alone for a while."""
        self._down_until = time.monotonic() + DOWN_SECONDS
        self._complain("replica_error", error=str(error))

    async def dispose(self) -> None:
        for probe in list(self._probes):
            probe.cancel()
            with contextlib.suppress(BaseException):
                await probe
        await self.engine.dispose()

    def _fresh(self, writes_before: float, now: float) -> bool:
        return (
            self.fresh_as_of > writes_before
            and now - self.fresh_as_of <= self.settings.max_lag_seconds
        )

    def _fallback(self, reason: str) -> bool:
        FALLBACKS.labels(reason=reason).inc()
        if reason != "behind_own_writes":  # that one is routine, not a problem
            self._complain(reason)
        return False

    def _complain(self, reason: str, **details: Any) -> None:
        if self._complained != reason:
            self._complained = reason
            log.warning("reading from the primary", reason=reason, **details)

    def _start_probe(self, now: float) -> asyncio.Task[None] | None:
        """A probe begun now; a few may overlap, so one slowed by a busy event loop or a
        replica catching up does not stop `fresh_as_of` moving (None: too many in flight)."""
        if len(self._probes) >= MAX_PROBES_IN_FLIGHT:
            return None
        probe = asyncio.get_running_loop().create_task(self._measure())
        self._probes.add(probe)
        probe.add_done_callback(self._probes.discard)
        self._probe_started, self._latest_probe = now, probe
        return probe

    async def _catch_up(self, needed: float) -> None:
        """Wait (at most READ_CATCH_UP_SECONDS) for a probe begun after `needed` to find the
        replica there. A probe begun before `needed` cannot tell: the next one is awaited."""
        deadline = time.monotonic() + self.settings.catch_up_seconds
        while self.fresh_as_of <= needed and time.monotonic() >= self._down_until:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            probe = self._latest_probe
            if probe is None or probe.done() or self._probe_started <= needed:
                probe = self._start_probe(time.monotonic())
            waiting = [probe] if probe is not None else list(self._probes)  # too many: any
            if not waiting:
                return
            await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)

    async def _measure(self) -> None:
        """One probe: the primary's WAL position now, then the replica replaying past it. Its
        time is taken as the question goes to the primary, not when the probe was begun: on
        a busy event loop the two are apart."""
        try:
            async with self._primary.connect() as primary:
                started = time.monotonic()
                position = await primary.scalar(text("SELECT pg_current_wal_lsn()::text"))
            deadline = started + self.settings.max_lag_seconds
            async with self.engine.connect() as replica:
                polls = 0
                while True:
                    replayed = await replica.scalar(
                        text(
                            "SELECT pg_last_wal_replay_lsn()"
                            " >= CAST(CAST(:position AS text) AS pg_lsn)"
                        ),
                        {"position": position},
                    )
                    if replayed is None:
                        raise RuntimeError("DATABASE_READ_URL is no longer in recovery")
                    if replayed:
                        self.fresh_as_of = max(self.fresh_as_of, started)
                        if self._complained is not None:
                            log.info("replica fresh again", was=self._complained)
                            self._complained = None
                        return
                    if time.monotonic() > deadline:
                        return  # stale: fresh_as_of stays where it was
                    polls += 1  # 1 ms, 2 ms, ... up to 20 ms apart: a lagging replica is spared
                    await asyncio.sleep(REPLAY_POLL_SECONDS * min(polls, 20))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # any failure means: not fresh, retry later
            self.failed(error)
