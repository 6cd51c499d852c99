"""The live stream as deployed: real API processes (`omnistock serve`) and a private Redis
(never the shared one), read over sockets of the test's own.

- Two API processes share one Redis: an event committed through one reaches a stream opened
  on the other, woken over Redis (their tailers are told to read the log on their own only
  every ten minutes, so nothing else could have brought it).
- A key holds at most STREAM_MAX_PER_KEY streams open across the API processes together.
- A client that stops reading is dropped once its buffer is full (its stream ends) while a
  client that reads receives every event, in order; the dropped one resumes with
  `Last-Event-ID` and misses nothing.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.bootstrap import build_context, event_signal
from app.config import Settings
from app.platform.database import Database
from app.platform.events import OutgoingEvent
from app.platform.tables import utcnow
from tests.conftest import Keys
from tests.support.processes import (
    Fleet,
    RedisServer,
    redis_server_available,
    service_env,
    wait_until,
)
from tests.support.sse import WAIT_SECONDS, Message, SocketStream, seqs

pytestmark = pytest.mark.skipif(
    not redis_server_available(), reason="needs redis-server on PATH (a private Redis)"
)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with Fleet(tmp_path) as processes:
        yield processes


@pytest.fixture
def redis_server(fleet: Fleet) -> RedisServer:
    return fleet.redis()


def api_env(settings: Settings, redis_url: str, **extra: str) -> dict[str, str]:
    return service_env(
        settings.database_url, redis_url, IN_PROCESS_WORKERS="0", PAYMENTS="at_counter", **extra
    )


def events_after(base_url: str, keys: Keys, after: int) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base_url}/v1/events",
        params={"after": after, "limit": 1000},
        headers=keys.admin,
        timeout=WAIT_SECONDS,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def receipt(base_url: str, keys: Keys, location: str, quantity: int = 1) -> None:
    response = httpx.post(
        f"{base_url}/v1/stock/movements",
        headers={**keys.admin, "Idempotency-Key": str(uuid.uuid4())},
        json={"location": location, "sku": "TEE-1", "kind": "receipt", "quantity": quantity},
        timeout=WAIT_SECONDS,
    )
    assert response.status_code == 201, response.text


def body_of(message: Message) -> dict[str, Any]:
    import json

    loaded: dict[str, Any] = json.loads(message.data or "")
    return loaded


async def test_an_event_committed_through_one_process_reaches_a_stream_on_another(
    fleet: Fleet, redis_server: RedisServer, settings: Settings, keys: Keys
) -> None:
    env = api_env(settings, redis_server.url, STREAM_POLL_SECONDS="600")
    one, two = fleet.api(env), fleet.api(env)
    head = max([e["seq"] for e in events_after(one.base_url, keys, 0)], default=0)
    on_two = SocketStream(two.base_url, "/v1/stream", keys.admin)
    on_one = SocketStream(one.base_url, "/v1/stream", keys.readonly)
    try:
        assert on_two.until_live() == [] and on_one.until_live() == []
        receipt(one.base_url, keys, "STORE-A")
        committed = events_after(one.base_url, keys, head)
        assert committed, "the receipt wrote events"
        assert [body_of(m) for m in on_two.events(len(committed))] == committed
        assert [body_of(m) for m in on_one.events(len(committed))] == committed

        receipt(two.base_url, keys, "STORE-B")
        more = events_after(two.base_url, keys, committed[-1]["seq"])
        assert [body_of(m) for m in on_one.events(len(more))] == more
        assert [body_of(m) for m in on_two.events(len(more))] == more
    finally:
        on_two.close()
        on_one.close()


COUNT = 400
PADDING = 20_000
"""Big events, so that the slow client's socket and the server's send buffer fill after a
hundred or so of them rather than after tens of thousands."""
BUFFER = 100
PACE_SECONDS = 0.005
"""Between commits: the fast client keeps up with a steady flow (not with any burst: a burst
of more than BUFFER events faster than it reads would drop it too, as it should)."""


async def test_a_slow_client_is_dropped_and_never_holds_up_a_fast_one(
    fleet: Fleet, redis_server: RedisServer, settings: Settings, db: Database, keys: Keys
) -> None:
    api = fleet.api(api_env(settings, redis_server.url, STREAM_BUFFER_EVENTS=str(BUFFER)))
    head = max([e["seq"] for e in events_after(api.base_url, keys, 0)], default=0)
    fast = SocketStream(api.base_url, "/v1/stream", keys.admin)
    slow = SocketStream(api.base_url, "/v1/stream", keys.readonly, receive_buffer=4096)
    try:
        assert fast.until_live() == [] and slow.until_live() == []
        received: list[Message] = []
        reader = threading.Thread(target=lambda: received.extend(fast.events(COUNT)))
        reader.start()

        # Committed as a worker process commits: through the event log, told over Redis.
        worker_settings = replace(settings, redis_url=redis_server.url)
        ctx = build_context(worker_settings, db, event_signal=event_signal(worker_settings))
        for n in range(COUNT):
            async with ctx.uow() as uow:
                uow.emit(
                    OutgoingEvent(
                        type="stock.changed",
                        occurred_at=utcnow(),
                        data={"n": n, "padding": "x" * PADDING},
                        location="STORE-A",
                        sku="TEE-1",
                    )
                )
                await uow.commit()
            await asyncio.sleep(PACE_SECONDS)
        reader.join(WAIT_SECONDS * 4)
        everything = list(range(head + 1, head + COUNT + 1))
        assert seqs(received) == everything

        # The slow client gets what had been sent before it was dropped, then the end.
        got: list[Message] = []
        while (message := slow.next()) is not None:
            if message.is_event:
                got.append(message)
        assert slow.ended
        assert len(got) < COUNT
        assert seqs(got) == everything[: len(got)]

        resumed = SocketStream(
            api.base_url,
            "/v1/stream",
            {**keys.readonly, "Last-Event-ID": str(got[-1].seq if got else head)},
        )
        try:
            assert seqs(got + resumed.until_live()) == everything
        finally:
            resumed.close()
    finally:
        fast.close()
        slow.close()


async def test_a_key_holds_only_so_many_streams_across_processes(
    fleet: Fleet, redis_server: RedisServer, settings: Settings, keys: Keys
) -> None:
    env = api_env(settings, redis_server.url, STREAM_MAX_PER_KEY="2")
    one, two = fleet.api(env), fleet.api(env)
    first = SocketStream(one.base_url, "/v1/stream", keys.storefront)
    second = SocketStream(two.base_url, "/v1/stream", keys.storefront)
    try:
        assert first.until_live() == [] and second.until_live() == []
        for api in (one, two):
            refused = httpx.get(  # noqa: ASYNC210 (the server is another process)
                f"{api.base_url}/v1/stream", headers=keys.storefront, timeout=WAIT_SECONDS
            )
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "rate_limited"
            assert refused.json()["error"]["details"] == {"open": 2, "limit": 2}
        other_key = SocketStream(one.base_url, "/v1/stream", keys.mobile)
        assert other_key.read_status() == 200
        other_key.close()

        first.close()  # the client goes away: its process gives the slot back
        reopened: list[SocketStream] = []

        def opens() -> bool:
            attempt = SocketStream(two.base_url, "/v1/stream", keys.storefront)
            if attempt.read_status() == 200:
                reopened.append(attempt)
                return True
            attempt.close()
            return False

        wait_until(opens, WAIT_SECONDS, "a slot given back is taken again")
        reopened[0].close()
    finally:
        first.close()
        second.close()
