"""Reads on a streaming replica (TEST_DATABASE_READ_URL; CI starts one with `.ci/pg-replica`):
GETs are served there, a caller sees their own writes, a replica behind the staleness bound or
gone is passed over for the primary, and an order another process just placed is found.

PostgreSQL only; without a replica these tests skip, unless OMNISTOCK_REQUIRE_REPLICA=1 (CI)
makes that a failure."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.main import create_app
from app.platform import replica as reads
from app.platform.database import Database
from app.platform.replica import ReplicaSettings
from tests.conftest import Keys
from tests.support.context import context_for
from tests.support.tcp_proxy import TcpProxy

Client = AsyncTestClient[Litestar]


@pytest.fixture
def replica_url(settings: Settings) -> str:
    if settings.database_read_url is None:
        reason = "no streaming replica: set TEST_DATABASE_READ_URL (PostgreSQL only)"
        if os.environ.get("OMNISTOCK_REQUIRE_REPLICA") == "1":
            pytest.fail(f"{reason}, and OMNISTOCK_REQUIRE_REPLICA=1 says these tests must run")
        pytest.skip(reason)
    return settings.database_read_url


@pytest.fixture
async def paused_replay(replica_url: str) -> AsyncIterator[Any]:
    """Pauses the replica's replay when called; replay resumes after the test, whatever
    happened."""
    engine = create_async_engine(replica_url, isolation_level="AUTOCOMMIT")

    async def pause() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_wal_replay_pause()"))

    try:
        yield pause
    finally:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_wal_replay_resume()"))
        await engine.dispose()


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture
def per_caller(settings: Settings, replica_url: str) -> Iterator[Settings]:
    """The production routing (each key sees its own writes) with room to observe it: a wide
    staleness bound, and the first read waiting for the first probe."""
    yield replace(
        settings,
        database_read_url=replica_url,
        read_your_writes="caller",
        read_max_lag_seconds=30.0,
        read_catch_up_seconds=1.0,
    )
    reads.read_your_writes_by(settings.read_your_writes)


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def receive(client: Client, keys: Keys, quantity: int) -> None:
    response = await client.post(
        "/v1/stock/movements",
        headers={**keys.admin, **idem()},
        json={"location": "STORE-A", "sku": "TEE-1", "kind": "receipt", "quantity": quantity},
    )
    assert response.status_code == 201, response.text


async def on_hand(client: Client, headers: dict[str, str]) -> int:
    response = await client.get("/v1/stock/TEE-1/STORE-A", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["on_hand"])


async def test_a_get_reads_the_replica_and_a_write_request_the_primary(
    db: Database, settings: Settings, replica_url: str
) -> None:
    ctx = context_for(db, settings)

    async def in_recovery() -> tuple[bool, bool]:
        async with ctx.uow(readonly=True, replica=True) as uow:
            orm = await uow.session.scalar(text("SELECT pg_is_in_recovery()"))
            prepared = await (await uow.statements.connection()).scalar(
                text("SELECT pg_is_in_recovery()")
            )
        return bool(orm), bool(prepared)

    state, token = reads.begin_request(replica_allowed=True)  # as a GET does
    try:
        assert await in_recovery() == (True, True)
        assert state.served_by_replica
    finally:
        reads.end_request(token)
    state, token = reads.begin_request(replica_allowed=False)  # as a POST does
    try:
        assert await in_recovery() == (False, False)
    finally:
        reads.end_request(token)
    assert await in_recovery() == (False, False)  # outside requests: workers, CLI
    async with ctx.uow(readonly=True) as uow:  # not marked: never the replica
        assert not await uow.session.scalar(text("SELECT pg_is_in_recovery()"))


async def test_another_key_reads_the_replica_and_the_writer_its_own_write(
    per_caller: Settings, keys: Keys, paused_replay: Any
) -> None:
    async with started(per_caller) as client:
        await receive(client, keys, 5)
        assert await on_hand(client, keys.readonly) == 5  # waits for the replica to have it
        await paused_replay()
        await receive(client, keys, 3)  # the replica cannot have this one
        served = counted("omnistock_reads_total", source="replica")
        assert await on_hand(client, keys.readonly) == 5  # the replica's answer, within bound
        assert counted("omnistock_reads_total", source="replica") == served + 1
        assert await on_hand(client, keys.admin) == 8  # the writer reads its own write


async def test_a_replica_beyond_the_staleness_bound_is_passed_over(
    per_caller: Settings, keys: Keys, paused_replay: Any
) -> None:
    bounded = replace(per_caller, read_max_lag_seconds=0.3, read_catch_up_seconds=0.5)
    async with started(bounded) as client:
        await receive(client, keys, 5)
        assert await on_hand(client, keys.readonly) == 5
        await paused_replay()
        await receive(client, keys, 3)
        await asyncio.sleep(0.4)  # nothing the replica held is fresh within 0.3 s any more
        stale = counted("omnistock_replica_fallbacks_total", reason="stale")
        assert await on_hand(client, keys.readonly) == 8
        assert counted("omnistock_replica_fallbacks_total", reason="stale") == stale + 1


async def test_an_order_just_placed_is_found_by_its_placer_and_by_others(
    per_caller: Settings, keys: Keys, paused_replay: Any
) -> None:
    async with started(per_caller) as client:
        await receive(client, keys, 5)
        assert await on_hand(client, keys.readonly) == 5
        await paused_replay()
        placed = await client.post(
            "/v1/orders",
            headers={**keys.storefront, **idem()},
            json={
                "customer": {"email": "ada@example.com", "name": "Ada"},
                "lines": [{"sku": "TEE-1", "quantity": 2}],
                "fulfilment": {"type": "pickup", "location": "STORE-A"},
            },
        )
        assert placed.status_code == 201, placed.text
        order = placed.json()
        mine = await client.get(f"/v1/orders/{order['id']}", headers=keys.storefront)
        assert mine.status_code == 200, mine.text  # read-your-writes: the primary
        # Another key (as if through another API process): the replica has no such order,
        # so the 404 is asked again of the primary before it is answered.
        asked_again = counted("omnistock_replica_fallbacks_total", reason="answered_404")
        theirs = await client.get(f"/v1/orders/{order['number']}", headers=keys.readonly)
        assert theirs.status_code == 200, theirs.text
        assert theirs.json()["id"] == order["id"]
        assert counted("omnistock_replica_fallbacks_total", reason="answered_404") > asked_again
        missing = await client.get(f"/v1/orders/{uuid.uuid4()}", headers=keys.readonly)
        assert missing.status_code == 404


async def test_a_replica_gone_sends_reads_to_the_primary(
    per_caller: Settings, keys: Keys, replica_url: str
) -> None:
    url = make_url(replica_url)
    with TcpProxy((url.host or "127.0.0.1", url.port or 5432)).start() as proxy:
        through_proxy = url.set(host="127.0.0.1", port=proxy.port)
        proxied = replace(
            per_caller, database_read_url=through_proxy.render_as_string(hide_password=False)
        )
        async with started(proxied) as client:
            await receive(client, keys, 5)
            served = counted("omnistock_reads_total", source="replica")
            assert await on_hand(client, keys.readonly) == 5
            assert counted("omnistock_reads_total", source="replica") == served + 1
            proxy.stop()  # live connections closed, new ones refused
            await receive(client, keys, 3)
            for _ in range(3):
                assert await on_hand(client, keys.readonly) == 8
            proxy.start()


async def test_a_read_url_that_is_not_a_replica_is_refused_at_start(
    settings: Settings, replica_url: str
) -> None:
    not_a_replica = Database(settings.database_url, 1, ReplicaSettings(settings.database_url))
    try:
        with pytest.raises(SystemExit, match="not a replica"):
            await not_a_replica.check_replica()
    finally:
        await not_a_replica.dispose()
    nowhere = make_url(replica_url).set(host="127.0.0.1", port=1)
    unreachable = Database(
        settings.database_url,
        1,
        ReplicaSettings(nowhere.render_as_string(hide_password=False)),
    )
    try:
        with pytest.raises(SystemExit, match="cannot be reached"):
            await unreachable.check_replica()
    finally:
        await unreachable.dispose()
