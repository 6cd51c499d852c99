"""A retailer connected to the local Shopify emulator: our SKUs and locations, the same
items and locations in the emulated shop, a storefront mapping one onto the other."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import pytest
import uvicorn

from app.bootstrap import sync_config
from app.config import Settings
from app.integrations.shopify.client import ShopifyClient
from app.integrations.shopify.throttle import forget_buckets
from app.integrations.shopify.tokens import forget_cached_tokens
from app.inventory import availability, catalogue, movements
from app.inventory.catalogue import NewLocation, SkuData
from app.main import create_app
from app.platform.access import Principal, Role
from app.platform.database import Database
from app.storefronts import push, setup
from app.storefronts.config import SyncConfig
from app.storefronts.push import FlushReport
from app.storefronts.setup import NewStorefront
from shopify_emulator import RunningEmulator
from tests.support.context import context_for

ADMIN = Principal(key_id="test-admin", name="tester", role=Role.ADMIN)
WEBHOOK_SECRET = "whsec-test-storefront"
FAST_RETRIES = partial(ShopifyClient, backoff_base=0.01, backoff_cap=0.05)
"""The real client with retries short enough for tests."""


def test_sync_config(**overrides: Any) -> SyncConfig:
    """The sync as the processes configure it, with FAST_RETRIES unless told otherwise."""
    settings = Settings.from_env()
    return sync_config(settings, **{"client_factory": FAST_RETRIES, **overrides})


@pytest.fixture(scope="module")
def running_emulator() -> Iterator[RunningEmulator]:
    with RunningEmulator() as emulator:
        yield emulator


@pytest.fixture
def emulator(running_emulator: RunningEmulator) -> Iterator[RunningEmulator]:
    """A fresh shop for each test; our client forgets what it learned about the last one."""
    running_emulator.state.reset()
    running_emulator.state.configure(idempotency_required_for_set_quantities=True)
    forget_buckets()
    forget_cached_tokens()
    yield running_emulator
    running_emulator.state.reset()


@dataclass
class ConnectedShop:
    db: Database
    emulator: RunningEmulator
    storefront_id: Any
    config: SyncConfig
    skus: list[str]
    locations: list[str]
    reports: list[FlushReport] = field(default_factory=list)

    @property
    def mutations(self) -> int:
        return int(self.emulator.shop.counters.by_root_field.get("inventorySetQuantities", 0))

    async def flush(self, config: SyncConfig | None = None) -> FlushReport:
        ctx = context_for(self.db, sync=config or self.config)
        report = await push.push_pending_levels(ctx, self.storefront_id)
        self.reports.append(report)
        return report

    async def converge(self, max_flushes: int = 5) -> None:
        for _ in range(max_flushes):
            await self.flush()
            if await self.pending() == 0:
                return
        raise AssertionError(f"still {await self.pending()} levels pending")

    async def pending(self) -> int:
        status = await setup.sync_status(context_for(self.db), ADMIN, self.storefront_id)
        return status.pending

    def theirs(self, sku: str, location: str) -> int:
        return self.emulator.shop.quantity(sku, location, "available")

    async def ours(self, sku: str, location: str, buffer: int = 0) -> int:
        level = await availability.stock_level(context_for(self.db), sku, location)
        return max(0, level.available - buffer)

    async def assert_in_step(self, buffer: int = 0) -> None:
        for sku in self.skus:
            for location in self.locations:
                ours = await self.ours(sku, location, buffer)
                assert self.theirs(sku, location) == ours, (sku, location)

    async def count(self, location: str, counts: list[tuple[str, int]]) -> None:
        await movements.record_counts(context_for(self.db), ADMIN, location=location, counts=counts)

    async def receive(self, sku: str, location: str, quantity: int) -> None:
        from app.inventory.rules import MovementKind

        await movements.record_movement(
            context_for(self.db),
            ADMIN,
            location=location,
            sku=sku,
            kind=MovementKind.RECEIPT,
            quantity=quantity,
        )


async def connect_shop(
    db: Database,
    emulator: RunningEmulator,
    *,
    sku_count: int = 3,
    locations: tuple[str, ...] = ("STORE-A", "WH-1"),
    buffer: int = 0,
    client_credentials: bool = False,
    config: SyncConfig | None = None,
    safety_stock: int = 0,
) -> ConnectedShop:
    """Our locations and SKUs, the same in the emulated shop, a storefront mapping them."""
    for code in locations:
        await catalogue.create_location(
            context_for(db),
            ADMIN,
            NewLocation(
                code=code,
                name=code,
                kind="store",
                latitude=51.5,
                longitude=-0.12,
                pickup_enabled=True,
                ship_enabled=True,
                default_safety_stock=safety_stock,
            ),
        )
    skus = [f"SKU-{n:04d}" for n in range(sku_count)]
    await catalogue.upsert_skus(
        context_for(db),
        ADMIN,
        [SkuData(sku=code, name=code, price_minor=1000, currency="GBP") for code in skus],
    )
    shop = emulator.shop
    shop_locations = {code: shop.add_location(code).gid for code in locations}
    items = {code: shop.add_item(code, levels=dict.fromkeys(locations, 0)).gid for code in skus}
    config = config or test_sync_config()
    credentials: dict[str, Any] = (
        {"client_id": shop.client_id, "client_secret": shop.client_secret}
        if client_credentials
        else {"access_token": emulator.access_token}
    )
    view = await setup.connect_storefront(
        context_for(db, sync=config),
        ADMIN,
        NewStorefront(
            name="Emulated shop",
            shop_domain=shop.domain,
            webhook_secret=WEBHOOK_SECRET,
            locations=[(code, gid) for code, gid in shop_locations.items()],
            buffer=buffer,
            api_base_url=emulator.base_url,
            **credentials,
        ),
    )
    await setup.map_skus(context_for(db), ADMIN, view.id, list(items.items()))
    return ConnectedShop(db, emulator, view.id, config, skus, list(locations))


class RunningApp:
    """The Omnistock API served by uvicorn on a thread, for the emulator's webhooks."""

    def __init__(self, settings: Settings) -> None:
        self.settings = replace(settings, in_process_workers=False)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        config = uvicorn.Config(
            create_app(self.settings), log_level="warning", access_log=False, lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RunningApp:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self._sock.close()


async def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    """Poll an async predicate until it holds."""
    deadline = time.monotonic() + seconds
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
