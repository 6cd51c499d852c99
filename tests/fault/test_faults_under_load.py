"""Proof under load: two API processes and two Dramatiq workers (deployed as the contract says:
the workers run the schedule, there is no scheduler process) take a mixed
load of web orders, counter sales and receipts while a worker is SIGKILLed, Redis crashes and
restarts, and the API processes' PostgreSQL connections are cut twice. Afterwards the books
balance: every level is the fold of its movements, `reserved` is what open orders hold, every
acknowledged order, sale and receipt is in the ledger exactly once, no Idempotency-Key made
two orders, and Shopify shows exactly our available (less the buffer) everywhere."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from tests.fault import audit
from tests.fault.conftest import LOCATIONS, SHOPIFY_BUFFER, STORES, Retailer, through
from tests.fault.shoppers import Shoppers
from tests.support.processes import (
    ApiProcess,
    Fleet,
    Process,
    RedisServer,
    service_env,
    wait_until,
)
from tests.support.tcp_proxy import TcpProxy

REQUESTS = 400
CONCURRENCY = 12
LOAD_SECONDS = 14.0
SHOPIFY_CONVERGES_SECONDS = 45.0  # a worker killed mid-push leaves its 30 s lease behind


@dataclass
class Deployment:
    """Omnistock as deployed: API processes behind a load balancer (the shoppers spread their
    requests), workers (which run the schedule too), Redis; the API processes reach PostgreSQL
    through `proxy`, the workers directly."""

    fleet: Fleet
    redis: RedisServer
    proxy: TcpProxy
    worker_env: dict[str, str]
    apis: list[ApiProcess]
    workers: list[Process]
    timeline: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def happened(self, event: str) -> None:
        self.timeline.append(f"{time.monotonic() - self.started:5.1f}s {event}")

    def report(self) -> str:
        return "\n".join(self.timeline) + "\n" + self.fleet.logs(5)


@pytest.fixture
async def deployment(
    fleet: Fleet, retailer: Retailer, postgres_proxy: TcpProxy, scratch_database_url: str
) -> AsyncIterator[Deployment]:
    redis = await asyncio.to_thread(fleet.redis)
    sync_fast = {"STOREFRONT_FLUSH_SECONDS": "0.5"}
    api_env = service_env(
        through(postgres_proxy, scratch_database_url),
        redis.url,
        DATABASE_POOL_SIZE="5",
        **sync_fast,
    )
    worker_env = service_env(scratch_database_url, redis.url, **sync_fast)
    apis = await asyncio.gather(*(asyncio.to_thread(fleet.api, api_env) for _ in range(2)))
    workers = await asyncio.gather(*(asyncio.to_thread(fleet.worker, worker_env) for _ in range(2)))
    system = Deployment(
        fleet,
        redis,
        postgres_proxy,
        worker_env,
        list(apis),
        list(workers),
    )
    yield system
    print("\n" + "\n".join(system.timeline))


async def inject_faults(system: Deployment) -> None:
    """What goes wrong while the shoppers shop."""
    await asyncio.sleep(2.5)
    victim = system.workers[0]
    system.happened(f"SIGKILL worker process {victim.kill_child()} of {victim.name}")
    await asyncio.to_thread(
        wait_until, lambda: not victim.alive, 15, f"{victim.name} notices its worker process died"
    )
    system.workers[0] = await asyncio.to_thread(system.fleet.worker, system.worker_env)
    system.happened(f"{victim.name} gone; replacement {system.workers[0].name} started")
    await asyncio.sleep(1.5)
    system.happened(f"cut {system.proxy.cut()} PostgreSQL connections of the API processes")
    await asyncio.sleep(2.0)
    await asyncio.to_thread(system.redis.restart)
    system.happened("Redis crashed (SIGKILL) and restarted empty")
    await asyncio.sleep(2.5)
    system.happened(f"cut {system.proxy.cut()} PostgreSQL connections of the API processes")


async def eventually(
    condition: Callable[[], Awaitable[list[str]]], seconds: float, what: str
) -> None:
    """Poll until `condition` lists no problems; fail with the last ones after `seconds`."""
    deadline = time.monotonic() + seconds
    while problems := await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s: {problems}")
        await asyncio.sleep(0.5)


def shopify_differences(retailer: Retailer) -> Callable[[], Awaitable[list[str]]]:
    async def differences() -> list[str]:
        """Mapped levels where Shopify does not show our available less the buffer."""
        shop = retailer.shop
        return [
            f"{sku}@{location}: ours {ours}, Shopify {theirs}"
            for sku in shop.skus
            for location in shop.locations
            if (ours := await shop.ours(sku, location, SHOPIFY_BUFFER))
            != (theirs := shop.theirs(sku, location))
        ]

    return differences


async def test_the_books_balance_after_workers_redis_and_database_fail_under_load(
    deployment: Deployment, retailer: Retailer, scratch_database_url: str
) -> None:
    system = deployment
    in_step_with_shopify = shopify_differences(retailer)
    await eventually(in_step_with_shopify, 30, "the workers push the opening stock to Shopify")
    shoppers = Shoppers(
        [api.base_url for api in system.apis],
        retailer.storefront,
        retailer.admin,
        retailer.pos,
        retailer.skus,
        list(LOCATIONS),
    )
    system.started = time.monotonic()
    try:
        await asyncio.gather(
            shoppers.run(REQUESTS, CONCURRENCY, LOAD_SECONDS), inject_faults(system)
        )
        system.happened(f"load over: {shoppers.summary()}")
        for request in shoppers.unsettled():  # a client still waiting tries again, same key
            await shoppers.send(request, attempts=3)
        system.happened(f"unanswered requests sent again: {len(shoppers.unsettled())} left")
    finally:
        await shoppers.aclose()

    await eventually(in_step_with_shopify, SHOPIFY_CONVERGES_SECONDS, "Shopify converges")
    system.happened("Shopify shows our available less the buffer everywhere")
    books = await audit.read_books(scratch_database_url)

    assert audit.levels_not_matching_their_movements(books) == []
    assert audit.reserved_not_held_by_open_orders(books) == []
    assert audit.order_problems(books, shoppers.of_kind("order")) == []
    assert audit.sale_problems(books, shoppers.of_kind("sale")) == []
    assert audit.receipt_problems(books, shoppers.of_kind("receipt")) == []

    # Real load went through, and the faults really happened.
    assert len(shoppers.acknowledged("order")) >= 50, shoppers.summary()
    assert len(shoppers.acknowledged("sale")) >= 20, shoppers.summary()
    assert set(STORES) <= {r.body["location"] for r in shoppers.acknowledged("sale")}
    assert system.redis.restarts == 1 and system.proxy.cuts > 0, system.report()

    # Nothing was restarted by hand: the API processes we started are all up and ready.
    async with httpx.AsyncClient(timeout=5) as client:
        for api in system.apis:
            assert api.process.alive, system.report()
            assert (await client.get(f"{api.base_url}/health/ready")).status_code == 200
    assert all(w.alive for w in system.workers), system.report()

    # Every client got an answer it can act on; none was ever a 500.
    unanswered = [r.describe() for r in shoppers.unsettled()]
    assert unanswered == [], system.report()
    never_500 = [r.describe() for r in shoppers.requests if "500" in r.attempts]
    assert never_500 == [], system.report()
