"""What the fault tests share: a scratch PostgreSQL database of their own (never the suite's
`test` database), a retailer seeded in it through the services, a TCP proxy in front of it
for the API processes, and a fleet of real processes that is always torn down.

They need PostgreSQL (TEST_DATABASE_URL; the scratch database lives on the same server) and
`redis-server` on PATH (each test runs a private Redis it may crash); otherwise they skip.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.access.keys import create_api_key
from app.config import normalise_database_url
from app.events.log_repository import forget_codes
from app.inventory import movements
from app.inventory.ledger import forget_known_levels
from app.inventory.rules import MovementKind
from app.platform import migrate
from app.platform.access import Role
from app.platform.database import Database
from shopify_emulator import RunningEmulator
from tests.support.context import context_for
from tests.support.processes import Fleet, redis_server_available
from tests.support.shopify import ADMIN, ConnectedShop, connect_shop
from tests.support.tcp_proxy import TcpProxy

STORES = ("STORE-A", "STORE-B")
LOCATIONS = (*STORES, "WH-1")
SKU_COUNT = 6
OPENING_STOCK = 40
SHOPIFY_BUFFER = 1


def _server_url() -> str:
    raw = os.environ.get("TEST_DATABASE_URL", "")
    url = normalise_database_url(raw) if raw else ""
    if not url.startswith("postgresql"):
        pytest.skip("fault tests need PostgreSQL: set TEST_DATABASE_URL=postgresql://...")
    if not redis_server_available():
        pytest.skip("fault tests need redis-server on PATH (they crash a private Redis)")
    return url


@pytest.fixture
def scratch_database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of the test's own on the test server, migrated from nothing and dropped
    afterwards; never the suite's `test` database."""
    server = _server_url()
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    name = f"omnistock_fault_test_{module}"[:63]
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_recreate(url, name))
    migrate.upgrade(url)
    yield url
    asyncio.run(_drop(url, name))


async def _admin_execute(url: str, *statements: str) -> None:
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _recreate(url: str, name: str) -> None:
    await _admin_execute(
        url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )


async def _drop(url: str, name: str) -> None:
    await _admin_execute(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Retailer:
    """Three locations, a few SKUs with stock, a Shopify storefront mapping all of them, and
    one API key per kind of client of the load."""

    shop: ConnectedShop
    admin: dict[str, str]
    storefront: dict[str, str]
    pos: dict[str, dict[str, str]]  # store code -> headers of a till there

    @property
    def skus(self) -> list[str]:
        return self.shop.skus


@pytest.fixture
async def retailer(scratch_database_url: str, emulator: RunningEmulator) -> AsyncIterator[Retailer]:
    db = Database(scratch_database_url, pool_size=4)
    forget_known_levels()  # this process's level cache belongs to other databases
    forget_codes()
    try:
        shop = await connect_shop(
            db, emulator, sku_count=SKU_COUNT, locations=LOCATIONS, buffer=SHOPIFY_BUFFER
        )
        for sku in shop.skus:
            for location in LOCATIONS:
                await movements.record_movement(
                    context_for(db),
                    ADMIN,
                    location=location,
                    sku=sku,
                    kind=MovementKind.RECEIPT,
                    quantity=OPENING_STOCK,
                )

        async def key(role: Role, location: str | None = None) -> dict[str, str]:
            issued = await create_api_key(
                context_for(db), None, name=f"fault-{role}", role=role, location=location
            )
            return {"Authorization": f"Bearer {issued.secret}"}

        yield Retailer(
            shop=shop,
            admin=await key(Role.ADMIN),
            storefront=await key(Role.STOREFRONT),
            pos={store: await key(Role.POS, store) for store in STORES},
        )
    finally:
        await db.dispose()
        forget_known_levels()
        forget_codes()


@pytest.fixture
def postgres_proxy(scratch_database_url: str) -> Iterator[TcpProxy]:
    """127.0.0.1:<port> -> the PostgreSQL server; the API processes connect through it."""
    url = make_url(scratch_database_url)
    with TcpProxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        yield proxy


def through(proxy: TcpProxy, database_url: str) -> str:
    """`database_url`, reached through `proxy`."""
    return (
        make_url(database_url)
        .set(host=proxy.host, port=proxy.port)
        .render_as_string(hide_password=False)
    )


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    with Fleet(tmp_path) as processes:
        yield processes
