"""Outgoing webhooks against a real HTTP receiver on this machine (so the SSRF guard is
relaxed, as WEBHOOK_ALLOW_PRIVATE=1 does): every delivery is checked with the
`standardwebhooks` package, events arrive in `seq` order, a failing event holds back the
ones after it and is retried, the endpoint is disabled once the retry window has passed,
and a replay delivers again from a mark. The delivery use case is called as the worker's
actor calls it; the jitter draws 0, so a retry is due at once and no test waits on a clock
(except the one that waits for the retry window to pass)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.bootstrap import AppContext
from app.events.log_repository import EventLog
from app.events.model import EventFilter, EventScope
from app.events.webhook_delivery import deliver_endpoint, endpoints_due, purge_deliveries
from app.events.webhook_tables import WebhookEndpoint
from app.events.webhooks import (
    EndpointView,
    NewEndpoint,
    create_endpoint,
    get_endpoint,
    list_deliveries,
    replay_endpoint,
)
from app.integrations.webhook_sender import HttpWebhookTransport
from app.platform.database import Database
from tests.conftest import ADMIN, World
from tests.support.context import context_for
from tests.support.webhook_receiver import Receiver

STOCK = ["stock.changed", "stock.out_of_stock", "stock.back_in_stock"]


@pytest.fixture
def ctx(db: Database) -> AppContext:
    base = context_for(db)
    return replace(
        base,
        webhooks=replace(
            base.webhooks,
            allow_private=True,
            timeout_seconds=2.0,
            retry_base_seconds=0.0,
            draw=lambda: 0.0,
        ),
    )


@pytest.fixture
def receiver() -> Any:
    with Receiver() as running:
        yield running


async def deliver_until_settled(ctx: AppContext, endpoint_id: uuid.UUID) -> EndpointView:
    """Run the worker's use case until the endpoint has caught up with the log or is
    disabled (at most 100 runs)."""
    for _ in range(100):
        await deliver_endpoint(ctx, endpoint_id)
        view = await get_endpoint(ctx, ADMIN, endpoint_id)
        async with ctx.uow(readonly=True) as uow:
            head = await EventLog.of(uow).head()
        if not view.enabled or view.delivered_through >= head:
            return view
        await asyncio.sleep(0.01)
    raise AssertionError(f"endpoint {endpoint_id} did not settle: {view}")


async def logged(ctx: AppContext, types: list[str]) -> list[dict[str, Any]]:
    async with ctx.uow(readonly=True) as uow:
        log = EventLog.of(uow)
        events = await log.read(
            after=0,
            upto=await log.head(),
            wanted=EventFilter(types=frozenset(types)),
            scope=EventScope(everything=True),
            limit=1000,
        )
    return [e.as_json() for e in events]


async def test_events_arrive_signed_once_each_and_in_order(
    ctx: AppContext, world: World, receiver: Receiver
) -> None:
    created = await create_endpoint(ctx, ADMIN, NewEndpoint(url=receiver.url, types=STOCK))
    for quantity in (5, 3, 2):
        await world.receive("STORE-A", "TEE-1", quantity)
    await world.receive("STORE-B", "MUG-1", 1)

    view = await deliver_until_settled(ctx, created.endpoint.id)

    events = receiver.verified(created.secret)  # standardwebhooks checks every signature
    assert events == await logged(ctx, STOCK)
    assert len(events) >= 4
    assert [r.webhook_id for r in receiver.received()] == [e["id"] for e in events]
    assert all(r.headers["content-type"] == "application/json" for r in receiver.received())
    assert view.delivered_through == events[-1]["seq"]
    deliveries = await list_deliveries(ctx, ADMIN, created.endpoint.id, 100)
    assert [(d.seq, d.attempt, d.status_code) for d in reversed(deliveries)] == [
        (e["seq"], 1, 200) for e in events
    ]


async def test_the_secret_is_stored_encrypted(ctx: AppContext, world: World) -> None:
    created = await create_endpoint(
        ctx, ADMIN, NewEndpoint(url="http://127.0.0.1:9/x", types=STOCK)
    )
    async with ctx.db.sessionmaker() as session:
        stored = await session.scalar(
            select(WebhookEndpoint.secret_encrypted).where(
                WebhookEndpoint.id == created.endpoint.id
            )
        )
    assert created.secret.startswith("whsec_")
    assert stored is not None and created.secret not in stored
    assert created.secret.removeprefix("whsec_") not in stored


async def test_a_failing_event_holds_back_the_next_ones_until_a_retry_succeeds(
    ctx: AppContext, world: World, receiver: Receiver
) -> None:
    created = await create_endpoint(
        ctx, ADMIN, NewEndpoint(url=receiver.url, types=["stock.changed"])
    )
    for quantity in (1, 2, 3):
        await world.receive("STORE-A", "TEE-2", quantity)
    receiver.fail_next = 3

    view = await deliver_until_settled(ctx, created.endpoint.id)

    expected = await logged(ctx, ["stock.changed"])
    received = receiver.received()
    assert [r.answered for r in received] == [500, 500, 500] + [200] * len(expected)
    assert {r.webhook_id for r in received[:4]} == {expected[0]["id"]}  # the same event
    assert [r.event for r in receiver.accepted()] == expected
    assert receiver.verified(created.secret)
    assert view.enabled and view.attempts == 0 and view.failing_since is None
    first = [d for d in await list_deliveries(ctx, ADMIN, created.endpoint.id, 100)][::-1][:4]
    assert [(d.attempt, d.status_code) for d in first] == [(1, 500), (2, 500), (3, 500), (4, 200)]


async def test_the_endpoint_is_disabled_after_the_retry_window_and_replay_recovers_it(
    ctx: AppContext, world: World, receiver: Receiver
) -> None:
    ctx = replace(ctx, webhooks=replace(ctx.webhooks, retry_window=timedelta(seconds=0.3)))
    created = await create_endpoint(
        ctx, ADMIN, NewEndpoint(url=receiver.url, types=["stock.changed"])
    )
    mark = created.endpoint.delivered_through
    await world.receive("STORE-A", "TEE-1", 4)
    await world.receive("STORE-A", "TEE-1", 6)
    receiver.status = 503

    view = await deliver_until_settled(ctx, created.endpoint.id)

    assert not view.enabled
    assert view.disabled_reason is not None and "HTTP 503" in view.disabled_reason
    assert view.delivered_through == mark
    assert created.endpoint.id not in await endpoints_due(ctx)
    assert {r.webhook_id for r in receiver.received()} == {
        (await logged(ctx, ["stock.changed"]))[0]["id"]
    }

    receiver.status = 200
    replayed = await replay_endpoint(ctx, ADMIN, created.endpoint.id, mark)
    assert replayed.enabled and replayed.attempts == 0
    await deliver_until_settled(ctx, created.endpoint.id)
    assert [r.event for r in receiver.accepted()] == await logged(ctx, ["stock.changed"])

    already = len(receiver.accepted())
    first_seq = receiver.accepted()[0].event["seq"]
    await replay_endpoint(ctx, ADMIN, created.endpoint.id, first_seq)  # from after the first
    await deliver_until_settled(ctx, created.endpoint.id)
    again = receiver.accepted()[already:]
    assert [r.event for r in again] == [
        e for e in await logged(ctx, ["stock.changed"]) if e["seq"] > first_seq
    ]


async def test_events_an_endpoint_did_not_ask_for_move_its_cursor_without_a_call(
    ctx: AppContext, world: World, receiver: Receiver
) -> None:
    created = await create_endpoint(
        ctx,
        ADMIN,
        NewEndpoint(url=receiver.url, types=["stock.changed"], locations=["STORE-B"]),
    )
    await world.receive("STORE-A", "TEE-1", 2)
    await world.receive("STORE-B", "TEE-1", 2)
    await world.receive("STORE-A", "TEE-2", 2)

    view = await deliver_until_settled(ctx, created.endpoint.id)

    events = receiver.verified(created.secret)
    assert [(e["type"], e["data"]["location"]) for e in events] == [("stock.changed", "STORE-B")]
    async with ctx.uow(readonly=True) as uow:
        assert view.delivered_through == await EventLog.of(uow).head()


async def test_a_private_address_is_refused_at_delivery_time_too(
    ctx: AppContext, world: World, receiver: Receiver
) -> None:
    created = await create_endpoint(ctx, ADMIN, NewEndpoint(url=receiver.url, types=STOCK))
    guarded = replace(ctx, webhooks=replace(ctx.webhooks, allow_private=False))
    await world.receive("STORE-A", "TEE-1", 2)

    await deliver_endpoint(guarded, created.endpoint.id)

    assert receiver.received() == []
    (delivery,) = await list_deliveries(ctx, ADMIN, created.endpoint.id, 10)
    assert delivery.status_code is None
    assert delivery.error is not None and "loopback" in delivery.error
    view = await get_endpoint(ctx, ADMIN, created.endpoint.id)
    assert view.attempts == 1 and view.failing_since is not None


async def test_two_workers_never_deliver_to_one_endpoint_at_once(
    ctx: AppContext, world: World, receiver: Receiver
) -> None:
    created = await create_endpoint(
        ctx, ADMIN, NewEndpoint(url=receiver.url, types=["stock.changed"])
    )
    for quantity in (1, 2, 3, 4):
        await world.receive("STORE-M", "MUG-1", quantity)
    receiver.delay = 0.05

    reports = await asyncio.gather(*(deliver_endpoint(ctx, created.endpoint.id) for _ in range(4)))
    await deliver_until_settled(ctx, created.endpoint.id)

    assert sum(r.claimed for r in reports) >= 1
    assert [r.event for r in receiver.received()] == await logged(ctx, ["stock.changed"])


async def test_the_worker_actors_deliver_what_is_due(
    ctx: AppContext,
    db: Database,
    world: World,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`deliver_webhooks` (the periodic job) fans out `deliver_endpoint` per endpoint due,
    on the in-process broker, as a worker process runs them."""
    import dramatiq

    from app.config import Settings
    from workers import runtime
    from workers.actors import broker, events

    created = await create_endpoint(ctx, ADMIN, NewEndpoint(url=receiver.url, types=STOCK))
    await world.receive("STORE-B", "TEE-2", 7)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setitem(runtime._runtimes, "current", runtime.WorkerRuntime(Settings.from_env()))
    assert await endpoints_due(ctx) == [created.endpoint.id]

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        events.deliver_webhooks.send()
        await asyncio.to_thread(
            broker.join, events.deliver_webhooks.queue_name, fail_fast=True, timeout=20_000
        )
        await asyncio.to_thread(worker.join)
    finally:
        worker.stop()

    assert receiver.verified(created.secret) == await logged(ctx, STOCK)
    assert await endpoints_due(ctx) == []


async def test_delivery_records_go_with_the_events_retention(
    ctx: AppContext, world: World, receiver: Receiver
) -> None:
    created = await create_endpoint(ctx, ADMIN, NewEndpoint(url=receiver.url, types=STOCK))
    await world.receive("STORE-A", "MUG-1", 1)
    await deliver_until_settled(ctx, created.endpoint.id)
    assert await list_deliveries(ctx, ADMIN, created.endpoint.id, 10)

    assert await purge_deliveries(ctx, keep_days=30) == 0
    removed = await purge_deliveries(ctx, keep_days=0)

    assert removed >= 1
    assert await list_deliveries(ctx, ADMIN, created.endpoint.id, 10) == []


class NameServer(HttpWebhookTransport):
    """The real HTTP transport with its DNS answered by the test: `hooks.example.test` is
    this machine (no resolver knows that name, so only the pinned addresses can work)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        if host == "hooks.example.test":
            return ["::1", "127.0.0.1"]  # the receiver listens on IPv4 only: the next is tried
        return await super().resolve(host, port)


async def test_a_delivery_connects_to_the_checked_address_and_names_the_host(
    ctx: AppContext, world: World, receiver: Receiver
) -> None:
    ctx = replace(ctx, webhooks=replace(ctx.webhooks, transport=NameServer()))
    url = receiver.url.replace("127.0.0.1", "hooks.example.test")
    created = await create_endpoint(ctx, ADMIN, NewEndpoint(url=url, types=STOCK))
    await world.receive("STORE-A", "TEE-1", 1)

    await deliver_until_settled(ctx, created.endpoint.id)

    assert receiver.verified(created.secret) == await logged(ctx, STOCK)
    assert all(
        d.status_code == 200 for d in await list_deliveries(ctx, ADMIN, created.endpoint.id, 9)
    )
    assert {r.headers["host"] for r in receiver.received()} == {
        f"hooks.example.test:{receiver.port}"
    }
