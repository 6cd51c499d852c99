"""`GET /v1/stream`: the live stream, read in-process as it is sent (`tests/support/sse.py`).

Resuming with `Last-Event-ID` (or `after=`) gives exactly the events missed, then the live
ones, each once and in order; each role sees what `GET /v1/events` shows it; a heartbeat
comes when nothing happens; a key may hold only so many streams open at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.bootstrap import build_context, event_signal
from app.config import Settings
from app.events.log_repository import EventLog
from app.main import create_app
from app.platform.database import Database
from app.platform.events import OutgoingEvent
from app.platform.tables import utcnow
from tests.conftest import Keys
from tests.e2e.test_orders_pickup import pickup_order, place, stock
from tests.support.sse import Message, open_stream, seqs

Client = AsyncTestClient[Litestar]


@asynccontextmanager
async def serving(settings: Settings, **overrides: Any) -> AsyncIterator[Client]:
    app = create_app(replace(settings, stream_heartbeat_seconds=0.2, **overrides))
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def live(settings: Settings, db: Database) -> AsyncIterator[Client]:
    """The app with a short heartbeat and a small per-key limit."""
    async with serving(settings, stream_max_per_key=2) as client:
        yield client


@pytest.fixture
async def roomy(settings: Settings, db: Database) -> AsyncIterator[Client]:
    """The app with room for many streams of one key."""
    async with serving(settings, stream_max_per_key=50) as client:
        yield client


async def all_events(client: Client, keys: Keys, **params: Any) -> list[dict[str, Any]]:
    """Every event `GET /v1/events` gives the admin (the log, as the catch-up reader sees it)."""
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        response = await client.get(
            "/v1/events", params={"after": after, "limit": 1000, **params}, headers=keys.admin
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["items"]
        if not page["items"]:
            return found
        after = page["next_after"]


def bodies(messages: list[Message]) -> list[dict[str, Any]]:
    return [json.loads(m.data or "") for m in messages]


async def test_resuming_gives_exactly_the_missed_events_then_the_live_ones(
    live: Client, keys: Keys
) -> None:
    await stock(live, keys, "STORE-A", "TEE-1", 5)
    await stock(live, keys, "STORE-B", "TEE-2", 5)
    logged = await all_events(live, keys)
    assert len(logged) >= 4  # changed + back in stock, at each store
    middle = logged[len(logged) // 2 - 1]["seq"]

    for how in ({"Last-Event-ID": str(middle)}, None):
        headers = {**keys.admin, **(how or {})}
        params = None if how else {"after": middle}
        async with open_stream(live, "/v1/stream", headers, params) as stream:
            assert stream.status == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            missed = await stream.events_until_live()
            assert seqs(missed) == [e["seq"] for e in logged if e["seq"] > middle]
            assert bodies(missed) == [e for e in logged if e["seq"] > middle]
            assert [m.event for m in missed] == [m["type"] for m in bodies(missed)]

            await stock(live, keys, "STORE-A", "MUG-1", 2)
            now = [e for e in await all_events(live, keys) if e["seq"] > logged[-1]["seq"]]
            arrived = await stream.events(len(now))
            assert bodies(arrived) == now
        logged = await all_events(live, keys)


async def test_last_event_id_wins_over_after_as_a_browser_reconnects(
    live: Client, keys: Keys
) -> None:
    await stock(live, keys, "STORE-A", "TEE-1", 5)
    logged = await all_events(live, keys)
    headers = {**keys.admin, "Last-Event-ID": str(logged[-1]["seq"])}
    async with open_stream(live, "/v1/stream", headers, {"after": 0}) as stream:
        assert await stream.events_until_live() == []


async def test_without_a_mark_the_stream_starts_with_the_next_commit(
    live: Client, keys: Keys
) -> None:
    await stock(live, keys, "STORE-A", "TEE-1", 5)
    async with open_stream(live, "/v1/stream", keys.admin) as stream:
        assert await stream.events_until_live() == []
        before = (await all_events(live, keys))[-1]["seq"]
        await stock(live, keys, "STORE-B", "TEE-1", 1)
        (first,) = await stream.events(1)
        assert first.seq == before + 1


async def test_each_role_sees_what_it_may_read_of_the_log(live: Client, keys: Keys) -> None:
    await stock(live, keys, "STORE-A", "TEE-1", 10)
    await stock(live, keys, "STORE-B", "TEE-1", 10)
    web = await place(live, keys.storefront, pickup_order("STORE-A", 1, "web@example.com"))
    app = await place(live, keys.mobile, pickup_order("STORE-B", 1, "app@example.com"))
    assert web.status_code == 201 and app.status_code == 201, (web.text, app.text)
    for order in (web, app):
        ready = await live.post(f"/v1/orders/{order.json()['id']}/ready", headers=keys.admin)
        assert ready.status_code == 200, ready.text
    logged = await all_events(live, keys)
    order_of = {e["seq"]: e["data"].get("order_id") for e in logged}

    for role, params in [
        ("admin", {}),
        ("readonly", {}),
        ("storefront", {}),
        ("mobile", {}),
        ("pos", {}),
        ("pos", {"location": "STORE-B"}),
        ("admin", {"types": "order.created", "location": "STORE-B"}),
        ("admin", {"sku": "TEE-1", "types": "stock.changed"}),
    ]:
        headers = getattr(keys, role)
        expected = await live.get("/v1/events", params={**params, "limit": 1000}, headers=headers)
        assert expected.status_code == 200, expected.text
        async with open_stream(live, "/v1/stream", headers, {**params, "after": 0}) as stream:
            caught_up = bodies(await stream.events_until_live())
        assert caught_up == expected.json()["items"], (role, params)
        if role == "storefront":
            assert {order_of[e["seq"]] for e in caught_up} - {None} == {web.json()["id"]}
        if role == "pos" and not params:
            assert app.json()["id"] not in json.dumps(caught_up)

    # live events are scoped the same way: a till at STORE-A hears nothing of STORE-B
    async with (
        open_stream(live, "/v1/stream", keys.pos) as till,
        open_stream(live, "/v1/stream", keys.readonly) as office,
    ):
        assert await till.events_until_live() == []
        assert await office.events_until_live() == []
        await stock(live, keys, "STORE-B", "TEE-2", 1)
        await stock(live, keys, "STORE-A", "TEE-2", 1)
        at_a = [e for e in await all_events(live, keys, location="STORE-A")]
        newest = [e for e in await all_events(live, keys) if e["seq"] > logged[-1]["seq"]]
        heard = bodies(await office.events(len(newest)))
        assert heard == newest
        mine = [e for e in newest if e in at_a]
        assert bodies(await till.events(len(mine))) == mine


async def test_a_quiet_stream_sends_heartbeat_comments(live: Client, keys: Keys) -> None:
    async with open_stream(live, "/v1/stream", keys.mobile) as stream:
        assert await stream.events_until_live() == []
        beats = [await stream.next() for _ in range(3)]
    assert all(m.comments == ["heartbeat"] and not m.is_event for m in beats)


async def test_a_key_holds_only_so_many_streams_open(live: Client, keys: Keys) -> None:
    async with (
        open_stream(live, "/v1/stream", keys.storefront) as first,
        open_stream(live, "/v1/stream", keys.storefront) as second,
    ):
        await first.events_until_live()
        await second.events_until_live()
        async with open_stream(live, "/v1/stream", keys.storefront) as third:
            assert third.status == 429
            error = json.loads(await third.rest())["error"]
            assert error["code"] == "rate_limited"
            assert error["details"] == {"open": 2, "limit": 2}
        async with open_stream(live, "/v1/stream", keys.mobile) as other_key:
            assert other_key.status == 200
    # closed streams give their slots back
    async with open_stream(live, "/v1/stream", keys.storefront) as again:
        assert again.status == 200
        await again.events_until_live()


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"types": "stock.nope"}, {}),
        ({"after": "-1"}, {}),
        ({"after": "x"}, {}),
        ({"since": "1"}, {}),
        ({}, {"Last-Event-ID": "abc"}),
        ({}, {"Last-Event-ID": "-3"}),
    ],
)
async def test_bad_input_is_a_400_before_any_stream(
    live: Client, keys: Keys, params: dict[str, str], headers: dict[str, str]
) -> None:
    async with open_stream(live, "/v1/stream", {**keys.admin, **headers}, params) as stream:
        assert stream.status == 400
        assert json.loads(await stream.rest())["error"]["code"] == "validation_error"


async def test_no_key_no_stream(live: Client) -> None:
    async with open_stream(live, "/v1/stream", {}) as stream:
        assert stream.status == 401
        assert json.loads(await stream.rest())["error"]["code"] == "unauthorized"


async def test_streams_opened_while_events_commit_miss_and_repeat_nothing(
    roomy: Client, keys: Keys, db: Database, settings: Settings
) -> None:
    """Streams attach to the tailer while it is fanning events out: each, resuming from its
    own mark, gets every event after it exactly once, in order (the catch-up and the live
    queue meet without a gap or an overlap)."""
    ctx = build_context(settings, db, event_signal=event_signal(settings))

    async def head() -> int:
        async with ctx.uow(readonly=True) as uow:
            return await EventLog.of(uow).head()

    async def commit(count: int) -> None:
        for n in range(count):
            async with ctx.uow() as uow:
                for part in range(n % 3 + 1):  # transactions of 1 to 3 events
                    uow.emit(
                        OutgoingEvent(
                            type="stock.changed",
                            occurred_at=utcnow(),
                            data={"n": n, "part": part},
                            location="STORE-A",
                            sku="TEE-1",
                        )
                    )
                await uow.commit()
            await asyncio.sleep(0)

    writer = asyncio.create_task(commit(120))
    async with AsyncExitStack() as stack:
        opened = []
        for k in range(8):
            mark = max(0, await head() - 2 * k)
            headers = {**keys.admin, "Last-Event-ID": str(mark)}
            stream = await stack.enter_async_context(open_stream(roomy, "/v1/stream", headers))
            opened.append((mark, stream))
            await asyncio.sleep(0.01)
        await writer
        final = await head()
        assert final > max(mark for mark, _ in opened), "streams opened while events came"
        for mark, stream in opened:
            assert seqs(await stream.events(final - mark)) == list(range(mark + 1, final + 1))
