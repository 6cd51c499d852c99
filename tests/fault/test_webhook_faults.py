"""Webhooks when things break: real Dramatiq worker processes deliver to a real receiver on
this machine (WEBHOOK_ALLOW_PRIVATE=1) while a worker process is SIGKILLed mid-delivery, and
while the receiver is down for a while. Afterwards every event of the log has reached the
endpoint, in `seq` order, each signature verifies with the `standardwebhooks` package, and
the only duplicates are an event delivered again with the same `webhook-id` right after
itself (the attempt the dead worker never recorded)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from app.bootstrap import AppContext
from app.config import Settings
from app.events.log_repository import EventLog, forget_codes
from app.events.model import STOCK_TYPES, EventFilter, EventScope
from app.events.webhooks import NewEndpoint, create_endpoint, get_endpoint, list_deliveries
from app.inventory import catalogue, movements
from app.inventory.catalogue import NewLocation, SkuData
from app.inventory.ledger import forget_known_levels
from app.inventory.rules import MovementKind
from app.platform.database import Database
from tests.conftest import ADMIN
from tests.support.context import context_for
from tests.support.processes import Fleet, Process, RedisServer, service_env, wait_until
from tests.support.webhook_receiver import Receiver

DELIVERED_WITHIN_SECONDS = 120.0  # a killed worker's lease (timeout + 10 s) must run out first
WORKER_ENV = {
    "WEBHOOK_ALLOW_PRIVATE": "1",
    "WEBHOOK_TIMEOUT_SECONDS": "2",
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "WEBHOOK_RETRY_MAX_SECONDS": "1",
}


@dataclass
class Setup:
    ctx: AppContext
    receiver: Receiver
    endpoint_id: Any
    secret: str
    redis: RedisServer
    fleet: Fleet
    worker_env: dict[str, str]

    async def receive(self, rounds: int) -> None:
        """Stock arriving: each receipt writes at least one event."""
        for n in range(rounds):
            await movements.record_movement(
                self.ctx,
                ADMIN,
                location="STORE-A" if n % 2 else "STORE-B",
                sku="TEE-1" if n % 3 else "MUG-1",
                kind=MovementKind.RECEIPT,
                quantity=n + 1,
            )

    async def logged(self) -> list[dict[str, Any]]:
        async with self.ctx.uow(readonly=True) as uow:
            log = EventLog.of(uow)
            events = await log.read(
                after=0,
                upto=await log.head(),
                wanted=EventFilter(types=STOCK_TYPES),
                scope=EventScope(everything=True),
                limit=10_000,
            )
        return [e.as_json() for e in events]

    def worker(self) -> Process:
        return self.fleet.worker(self.worker_env)

    async def all_delivered(self) -> list[dict[str, Any]]:
        """Wait until the receiver has accepted every logged event; the log."""
        expected = await self.logged()
        wanted = {e["id"] for e in expected}
        await asyncio.to_thread(
            wait_until,
            lambda: wanted <= {r.webhook_id for r in self.receiver.accepted()},
            DELIVERED_WITHIN_SECONDS,
            f"every event reaches the endpoint\n{self.fleet.logs()}",
            0.2,
        )
        return expected

    def check_order_and_duplicates(self, expected: list[dict[str, Any]]) -> None:
        events = self.receiver.verified(self.secret)  # every signature, 2xx or not
        accepted = [r.event for r in self.receiver.accepted()]
        distinct = [e for i, e in enumerate(accepted) if i == 0 or e["id"] != accepted[i - 1]["id"]]
        assert distinct == expected, "in seq order, nothing lost, no other duplicate"
        by_id: dict[str, dict[str, Any]] = {}
        for event in events:
            assert by_id.setdefault(event["id"], event) == event  # a repeat is the same event


@pytest.fixture
async def setup(scratch_database_url: str, fleet: Fleet) -> AsyncIterator[Setup]:
    db = Database(scratch_database_url, pool_size=4)
    forget_known_levels()
    forget_codes()
    settings = replace(
        Settings.from_env(),
        database_url=scratch_database_url,
        redis_url=None,
        in_process_workers=False,
        secret_key=None,  # the workers' development key
    )
    base = context_for(db, settings)
    ctx = replace(base, webhooks=replace(base.webhooks, allow_private=True))
    for code in ("STORE-A", "STORE-B"):
        await catalogue.create_location(
            ctx,
            ADMIN,
            NewLocation(code=code, name=code, kind="store", latitude=51.5, longitude=-0.1),
        )
    for sku in ("TEE-1", "MUG-1"):
        await catalogue.create_sku(
            ctx, ADMIN, SkuData(sku=sku, name=sku, price_minor=1000, currency="GBP")
        )
    redis = await asyncio.to_thread(fleet.redis)
    with Receiver() as receiver:
        created = await create_endpoint(
            ctx, ADMIN, NewEndpoint(url=receiver.url, types=sorted(STOCK_TYPES))
        )
        try:
            yield Setup(
                ctx,
                receiver,
                created.endpoint.id,
                created.secret,
                redis,
                fleet,
                service_env(scratch_database_url, redis.url, **WORKER_ENV),
            )
        finally:
            await asyncio.to_thread(fleet.stop_all)
            await db.dispose()
            forget_known_levels()
            forget_codes()


async def test_a_worker_killed_mid_delivery_loses_nothing_and_reorders_nothing(
    setup: Setup,
) -> None:
    setup.receiver.delay = 0.2  # slow
    await setup.receive(10)
    victim = await asyncio.to_thread(setup.worker)
    await asyncio.to_thread(
        wait_until,
        lambda: len(setup.receiver.accepted()) >= 3,
        60,
        f"first deliveries\n{setup.fleet.logs()}",
    )
    setup.receiver.gate.clear()  # the next request waits for its answer...
    await asyncio.to_thread(
        wait_until,
        lambda: setup.receiver.arrived > len(setup.receiver.received()),
        30,
        "a delivery waits for its answer",
        0.02,
    )
    victim.kill_child()  # ...while its worker dies
    await asyncio.to_thread(wait_until, lambda: not victim.alive, 15, "the worker goes down")
    setup.receiver.gate.set()  # the receiver took it, but nobody recorded that
    in_flight = await asyncio.to_thread(_last_received, setup.receiver)
    await asyncio.to_thread(setup.worker)
    await setup.receive(4)  # and events keep coming

    expected = await setup.all_delivered()

    setup.check_order_and_duplicates(expected)
    assert [r.webhook_id for r in setup.receiver.accepted()].count(in_flight) == 2, (
        "the event in flight at the kill was delivered again, with the same webhook-id"
    )
    view = await get_endpoint(setup.ctx, ADMIN, setup.endpoint_id)
    assert view.enabled and view.delivered_through >= expected[-1]["seq"]


async def test_a_receiver_down_for_a_while_gets_everything_in_order_when_it_is_back(
    setup: Setup,
) -> None:
    for _ in range(2):  # two workers share the endpoint's work, one at a time by its lease
        await asyncio.to_thread(setup.worker)
    await setup.receive(3)
    await asyncio.to_thread(
        wait_until,
        lambda: len(setup.receiver.accepted()) >= 3,
        60,
        f"first deliveries\n{setup.fleet.logs()}",
    )
    setup.receiver.down()
    await setup.receive(6)
    for _ in range(600):  # deliveries fail while the receiver is down
        if await _failed_attempts(setup) >= 3:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(
            f"no failed deliveries while the receiver was down\n{setup.fleet.logs()}"
        )
    setup.receiver.up()

    expected = await setup.all_delivered()

    setup.check_order_and_duplicates(expected)
    view = await get_endpoint(setup.ctx, ADMIN, setup.endpoint_id)
    assert view.enabled and view.attempts == 0


def _last_received(receiver: Receiver) -> str:
    wait_until(lambda: receiver.arrived == len(receiver.received()), 10, "the answer is sent")
    return receiver.received()[-1].webhook_id


async def _failed_attempts(setup: Setup) -> int:
    deliveries = await list_deliveries(setup.ctx, ADMIN, setup.endpoint_id, 500)
    return sum(d.status_code is None for d in deliveries)
