"""The live stream's hub, step by step (no HTTP, no timing): the tailer's steps are taken by
the test, between a subscriber's steps, to put each one where a race would hurt.

- An event fanned out after a subscriber's catch-up read the head, but before it attached,
  still reaches it (the second catch-up), and only once.
- A subscriber whose queue is full is dropped: its stream ends and its slot is given back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.bootstrap import AppContext
from app.events.model import EventFilter
from app.events.stream import StreamHub, Subscription, TooManyStreams, follow
from app.events.stream_model import LiveEvent, Marker
from app.events.wakeups import LocalWakeUps
from app.platform.events import OutgoingEvent
from app.platform.tables import utcnow
from tests.conftest import ADMIN


async def emit(ctx: AppContext, count: int) -> None:
    """`count` events, one transaction each."""
    for n in range(count):
        async with ctx.uow() as uow:
            uow.emit(
                OutgoingEvent(
                    type="stock.changed",
                    occurred_at=utcnow(),
                    data={"n": n},
                    location="STORE-A",
                    sku="TEE-1",
                )
            )
            await uow.commit()


@pytest.fixture
async def hub(ctx: AppContext) -> StreamHub:
    """A hub whose tailer is not running: the test takes its steps (`read_new`)."""
    stream_hub = StreamHub(ctx, LocalWakeUps(), buffer=2, max_per_key=3, heartbeat_seconds=3600)
    await stream_hub.prime()
    return stream_hub


async def seq_of(stream: AsyncIterator[LiveEvent | Marker]) -> int | Marker:
    item = await anext(stream)
    return item.seq if isinstance(item, LiveEvent) else item


async def test_an_event_fanned_out_between_catch_up_and_attaching_is_not_lost(
    ctx: AppContext, hub: StreamHub
) -> None:
    base = hub.last or 0
    await emit(ctx, 2)
    await hub.read_new()
    stream = follow(hub, await hub.open(ADMIN, EventFilter()), ADMIN, base)
    assert [await seq_of(stream), await seq_of(stream)] == [base + 1, base + 2]
    # the catch-up has read the head (base + 2); the next event is fanned out now, while the
    # subscriber is not attached yet: it must come from the second catch-up
    await emit(ctx, 1)
    await hub.read_new()
    assert await seq_of(stream) == base + 3
    assert await seq_of(stream) is Marker.LIVE
    # attached: what the tailer fans out next comes from the queue, and nothing twice
    await emit(ctx, 1)
    await hub.read_new()
    assert await seq_of(stream) == base + 4
    await stream.aclose()
    assert hub.open_streams == 0


async def test_a_subscriber_whose_queue_is_full_is_dropped_and_its_stream_ends(
    ctx: AppContext, hub: StreamHub
) -> None:
    slow = await hub.open(ADMIN, EventFilter())
    stream = follow(hub, slow, ADMIN, hub.last or 0)
    assert await seq_of(stream) is Marker.LIVE
    other = await hub.open(ADMIN, EventFilter())
    other_stream = follow(hub, other, ADMIN, hub.last or 0)
    assert await seq_of(other_stream) is Marker.LIVE
    await emit(ctx, 2)
    await hub.read_new()  # two queued for each: both queues full
    assert await seq_of(other_stream) == (hub.last or 0) - 1  # the other one reads
    await emit(ctx, 1)
    await hub.read_new()  # the third does not fit in the slow one's queue
    assert slow.dropped and slow.closed and not other.dropped
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert hub.open_streams == 1
    assert [await seq_of(other_stream), await seq_of(other_stream)] == [
        (hub.last or 0) - 1,
        hub.last,
    ]
    await other_stream.aclose()


async def test_slots_per_key_are_counted_and_given_back(hub: StreamHub) -> None:
    opened: list[Subscription] = [await hub.open(ADMIN, EventFilter()) for _ in range(3)]
    with pytest.raises(TooManyStreams):
        await hub.open(ADMIN, EventFilter())
    opened[0].close()
    opened[0].close()  # twice is once
    opened.append(await hub.open(ADMIN, EventFilter()))
    assert hub.open_streams == 3
    # a stream made but never started gives its slot back when it is thrown away
    stream = follow(hub, opened.pop(), ADMIN, 0)
    del stream
    assert hub.open_streams == 2
