"""The live stream: one tailer per API process follows the log and fans each event out to this
process's subscribers, each through a bounded queue of its own.

The log is the truth; wake-ups (`app/events/ports.py`: Redis between processes, or memory in
one) only say when to look, and the tailer also looks every `poll_seconds`, so a lost wake-up
or a Redis restart delays an event by at most that, never loses it. A subscriber catches up
from the log first (after its `Last-Event-ID`), is attached to the tailer, catches up once
more to the head and then takes its queue, skipping what it already sent: the tailer gives an
attached subscriber every event after the mark it had when it attached, and the second catch-up
reaches at least that mark, so nothing falls between the two. A subscriber whose queue is full
is dropped (its stream ends; it resumes with `Last-Event-ID`): the tailer never waits for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import AsyncIterator
from typing import Any

import structlog
from prometheus_client import Counter as Total
from prometheus_client import Gauge

from app.events.model import EventFilter, EventScope
from app.events.ports import StreamSlots, WakeUps
from app.events.reading import read_events, scope_of
from app.events.slots import LocalSlots
from app.events.stream_model import LiveEvent, Marker, is_for
from app.events.stream_repository import StreamLog
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.errors import DomainError

log = structlog.get_logger("omnistock.stream")

PAGE = 500
"""Events read per query, by the tailer and by a catch-up."""

KEEP_SECONDS = 15.0
"""How often the leases of this process's open-stream slots are renewed (they last 60 s)."""

OPEN_STREAMS = Gauge(
    "omnistock_event_streams_open",
    "Open GET /v1/stream connections.",
    multiprocess_mode="livesum",
)
DROPPED_STREAMS = Total(
    "omnistock_event_streams_dropped_total",
    "Streams ended because their client fell STREAM_BUFFER_EVENTS behind.",
)


class TooManyStreams(DomainError):
    code = "rate_limited"


class Subscription:
    """One open stream: its slot in the per-key count, its filter and its bounded queue."""

    def __init__(
        self,
        hub: StreamHub,
        key: str,
        scope: EventScope,
        wanted: EventFilter,
        buffer: int,
    ) -> None:
        self.hub = hub
        self.key = key
        self.slot = uuid.uuid4().hex
        self.scope = scope
        self.wanted = wanted
        self.queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(maxsize=buffer)
        self.dropped = False
        self.closed = False

    def offer(self, event: LiveEvent) -> None:
        """From the tailer: queue `event` if it is this subscriber's; drop a full subscriber."""
        if self.closed or not is_for(event, self.scope, self.wanted):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            DROPPED_STREAMS.inc()
            log.info("slow stream dropped", key=self.key, buffered=self.queue.qsize())
            self.close()

    async def next(self, within: float) -> LiveEvent | None:
        """The next queued event, or None after `within` seconds without one (or when closed)."""
        if not self.queue.empty():
            return self.queue.get_nowait()
        try:
            async with asyncio.timeout(within):
                return await self.queue.get()
        except TimeoutError:
            return None

    def close(self) -> None:
        """Leave the tailer and give the slot back (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.hub._release(self)
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)  # wakes a reader waiting on an empty queue


class StreamHub:
    """This process's tailer and its subscribers."""

    def __init__(
        self,
        ctx: Context,
        wakeups: WakeUps,
        slots: StreamSlots | None = None,
        *,
        buffer: int,
        max_per_key: int,
        heartbeat_seconds: float,
        poll_seconds: float = 1.0,
    ) -> None:
        self.ctx = ctx
        self.buffer = buffer
        self.max_per_key = max_per_key
        self.heartbeat_seconds = heartbeat_seconds
        self.poll_seconds = poll_seconds
        self.last: int | None = None
        """The mark the tailer has read and fanned out up to; None until it has read the head."""
        self._wakeups = wakeups
        self._slots = slots or LocalSlots()
        self._page = max(1, min(PAGE, buffer))
        """Events fanned out at a time: no more than a queue holds, so a burst alone never
        drops a subscriber that keeps up (each page ends with a read of the log, during which
        the subscribers send what they were given)."""
        self._attached: set[Subscription] = set()
        self._open: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken = asyncio.Event()
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []

    # Lifecycle (the API's lifespan) --------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [
            asyncio.create_task(self._tail(), name="event-stream-tailer"),
            asyncio.create_task(self._wakeups.listen(self.wake), name="event-stream-wakeups"),
            asyncio.create_task(self._keep_slots(), name="event-stream-slots"),
        ]

    async def stop(self) -> None:
        for subscription in list(self._open):
            subscription.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    @property
    def open_streams(self) -> int:
        return len(self._open)

    async def _keep_slots(self) -> None:
        """Renew this process's slots' leases, every `KEEP_SECONDS`."""
        while True:
            await asyncio.sleep(KEEP_SECONDS)
            await self._slots.keep([(s.key, s.slot) for s in self._open])

    # Wake-ups ------------------------------------------------------------------------------
    def wake(self, seq: int | None = None) -> None:
        """Events up to `seq` (None: maybe some) committed somewhere. Safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            here = asyncio.get_running_loop() is loop
        except RuntimeError:
            here = False
        if here:
            self._wake(seq)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake, seq)

    def _wake(self, seq: int | None) -> None:
        if seq is not None and self.last is not None and seq <= self.last:
            return  # already read (this process's own commit, told twice)
        self._woken.set()

    # The tailer ----------------------------------------------------------------------------
    async def _tail(self) -> None:
        while True:
            try:
                if self.last is None:
                    await self.prime()
                await self.read_new()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is away: try again at the next poll
                log.warning("the stream's tailer cannot read the log", error=str(error))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._woken.wait()
            self._woken.clear()

    async def prime(self) -> None:
        """Start from the log's head (what was committed before is no one's news)."""
        self.last = await self.head()
        self._ready.set()

    async def read_new(self) -> None:
        """One step of the tailer: fan out every event committed since the last step."""
        while self.last is not None:
            if not self._attached and await self._skip_to_head():
                return
            # One query, no head first: numbers are taken under the counter row's lock at the
            # commit, so a transaction's events are visible before any later one's (see
            # app/events/log.py) and a read that sees an event sees all below it.
            async with self.ctx.uow(readonly=True) as uow:
                events = await StreamLog.of(uow).after(self.last, self._page)
            if not events:
                return
            # No await from here to the new mark: a subscriber attaches either before this
            # batch (and is given all of it) or after (its catch-up reads up to the new mark).
            for event in events:
                for subscription in list(self._attached):
                    subscription.offer(event)
            self.last = events[-1].seq
            if len(events) < self._page:
                return

    async def _skip_to_head(self) -> bool:
        """With no subscriber attached, move the mark to the log's head instead of reading
        the events nobody is given (every commit of every process wakes every tailer: read,
        that is a page of events decoded per commit per API process). True if done; False
        when a subscriber attached meanwhile: the events past the old mark are then read as
        usual (its own catch-up reads the log to the head, so it misses none either way)."""
        head = await self.head()
        if self._attached or self.last is None:
            return False
        self.last = max(self.last, head)
        return True

    # Subscribers ---------------------------------------------------------------------------
    async def open(self, principal: Principal, wanted: EventFilter) -> Subscription:
        """A slot for one more stream of this caller (a key, or a person): TooManyStreams
        beyond `max_per_key` open in every API process together."""
        principal.require(Permission.READ)
        key = principal.email or principal.key_id
        subscription = Subscription(self, key, scope_of(principal), wanted, self.buffer)
        taken, held = await self._slots.take(key, subscription.slot, self.max_per_key)
        if not taken:
            raise TooManyStreams(
                f"at most {self.max_per_key} open streams per key; close one first",
                {"open": held, "limit": self.max_per_key},
            )
        self._open.add(subscription)
        OPEN_STREAMS.inc()
        return subscription

    def _attach(self, subscription: Subscription) -> int:
        """Start giving `subscription` every event after the returned mark."""
        assert self.last is not None
        if not subscription.closed:
            self._attached.add(subscription)
        return self.last

    def _release(self, subscription: Subscription) -> None:
        self._attached.discard(subscription)
        if subscription not in self._open:
            return
        self._open.discard(subscription)
        OPEN_STREAMS.dec()
        self._slots.give_back(subscription.key, subscription.slot)

    async def head(self) -> int:
        """The log's head now: a stream asked from now on starts after it."""
        async with self.ctx.uow(readonly=True) as uow:
            return await StreamLog.of(uow).head()

    async def ready(self, seconds: float) -> bool:
        """Whether the tailer has read the head (it has once the database answered)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._ready.wait()
        return self._ready.is_set()


def follow(
    hub: StreamHub, subscription: Subscription, principal: Principal, after: int
) -> AsyncIterator[LiveEvent | Marker]:
    """The stream of one subscriber: the events after `after` that it may
    see and asks for, each once and in `seq` order, a `Marker.LIVE` once caught up, and a
    `Marker.HEARTBEAT` after each `heartbeat_seconds` without an event. Ends when the
    subscriber is dropped or the hub stops. Its slot is given back when it ends, or when it
    is thrown away without ever being started."""
    stream = _follow(hub, subscription, principal, after)
    weakref.finalize(stream, subscription.close)
    return stream


async def _follow(
    hub: StreamHub, subscription: Subscription, principal: Principal, after: int
) -> AsyncIterator[LiveEvent | Marker]:
    try:
        sent = after
        for attach in (False, True):
            if attach:
                hub._attach(subscription)
            async for item in _catch_up(hub.ctx, principal, subscription, sent):
                if isinstance(item, LiveEvent):
                    yield item
                sent = item.seq if isinstance(item, LiveEvent) else item
        yield Marker.LIVE
        while not subscription.closed:
            event = await subscription.next(hub.heartbeat_seconds)
            if subscription.closed:
                return
            if event is None:
                yield Marker.HEARTBEAT
            elif event.seq > sent:
                sent = event.seq
                yield event
    finally:
        subscription.close()


async def _catch_up(
    ctx: Context, principal: Principal, subscription: Subscription, after: int
) -> AsyncIterator[LiveEvent | int]:
    """The log's events after `after` for this subscriber, page by page up to the head; last,
    the mark it has caught up to (an int)."""
    while True:
        page = await read_events(
            ctx, principal, after=after, wanted=subscription.wanted, limit=PAGE
        )
        for view in page.items:
            yield LiveEvent.of(view)
        after = page.next_after
        if len(page.items) < PAGE:
            yield after
            return
