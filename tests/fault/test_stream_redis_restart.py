"""Redis crashes and comes back, twice, while two API processes stream and take stock
movements: every event still reaches every stream, in order, none lost and none repeated.

Redis only wakes the streams' tailers; the event log is what they read, and they read it at
least every second on their own, so while Redis is gone events come a little later and none
is lost; once it is back, the tailers resubscribe and read what they missed.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest

from app.access.keys import create_api_key
from app.events.log_repository import forget_codes
from app.inventory import catalogue
from app.inventory.catalogue import NewLocation, SkuData
from app.inventory.ledger import forget_known_levels
from app.platform.access import Role
from app.platform.database import Database
from tests.conftest import ADMIN
from tests.support.context import context_for
from tests.support.processes import Fleet, RedisServer, service_env, wait_until
from tests.support.sse import WAIT_SECONDS, Message, SocketStream, seqs

MOVEMENTS = 45
RESTART_AT = (15, 30)


@pytest.fixture
def redis_server(fleet: Fleet) -> RedisServer:
    return fleet.redis()


@pytest.fixture
async def admin(scratch_database_url: str) -> dict[str, str]:
    db = Database(scratch_database_url, pool_size=2)
    forget_known_levels()
    forget_codes()
    try:
        ctx = context_for(db)
        for code in ("STORE-A", "STORE-B"):
            await catalogue.create_location(
                ctx, ADMIN, NewLocation(code, code, "store", 51.5, -0.1, True, False, 0)
            )
        await catalogue.create_sku(ctx, ADMIN, SkuData("TEE-1", "Tee", 1000, "GBP"))
        issued = await create_api_key(ctx, None, name="fault-stream", role=Role.ADMIN)
        return {"Authorization": f"Bearer {issued.secret}"}
    finally:
        await db.dispose()
        forget_known_levels()
        forget_codes()


def read_all(stream: SocketStream, into: list[Message]) -> None:
    """Every event of `stream` until it ends or its socket is closed."""
    try:
        while (message := stream.next()) is not None:
            if message.is_event:
                into.append(message)
    except (OSError, ValueError):
        pass  # closed by the test at the end


@pytest.fixture
def streams() -> Iterator[list[SocketStream]]:
    opened: list[SocketStream] = []
    yield opened
    for stream in opened:
        stream.close()


def test_redis_restarted_during_streaming_loses_and_repeats_nothing(
    fleet: Fleet,
    redis_server: RedisServer,
    scratch_database_url: str,
    admin: dict[str, str],
    streams: list[SocketStream],
) -> None:
    env = service_env(
        scratch_database_url, redis_server.url, IN_PROCESS_WORKERS="0", PAYMENTS="at_counter"
    )
    apis = [fleet.api(env), fleet.api(env)]
    received: list[list[Message]] = []
    readers = []
    for api in apis:
        stream = SocketStream(api.base_url, "/v1/stream", {**admin, "Last-Event-ID": "0"})
        streams.append(stream)
        assert stream.until_live() == []  # nothing committed yet
        received.append([])
        readers.append(threading.Thread(target=read_all, args=(stream, received[-1])))
        readers[-1].start()

    for n in range(MOVEMENTS):
        if n in RESTART_AT:
            redis_server.restart()
        api = apis[n % 2]
        response = httpx.post(
            f"{api.base_url}/v1/stock/movements",
            headers={**admin, "Idempotency-Key": str(uuid.uuid4())},
            json={"location": "STORE-A", "sku": "TEE-1", "kind": "receipt", "quantity": 1},
            timeout=WAIT_SECONDS,
        )
        assert response.status_code == 201, response.text
    assert redis_server.restarts == len(RESTART_AT)

    logged = httpx.get(
        f"{apis[0].base_url}/v1/events",
        params={"after": 0, "limit": 1000},
        headers=admin,
        timeout=WAIT_SECONDS,
    ).json()["items"]
    everything = [event["seq"] for event in logged]
    assert everything == list(range(1, len(everything) + 1))
    assert len(everything) > MOVEMENTS  # a stock.changed each, and the first back_in_stock

    with contextlib.suppress(AssertionError):  # compared below, with what arrived
        wait_until(
            lambda: all(len(events) >= len(everything) for events in received),
            WAIT_SECONDS,
            "every stream has every event",
        )
    for stream, reader in zip(streams, readers, strict=True):
        stream.close()
        reader.join(WAIT_SECONDS)
    for stream_events in received:
        assert seqs(stream_events) == everything, fleet.logs()
