"""Fixtures shared by every layer of tests: a migrated database, the app, keys and factories."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app import bootstrap
from app.access.keys import create_api_key
from app.bootstrap import AppContext
from app.config import Settings
from app.inventory import catalogue, movements
from app.inventory.catalogue import NewLocation, SkuData
from app.inventory.ledger import forget_known_levels
from app.inventory.rules import MovementKind
from app.main import create_app
from app.orders.context import OrderContext
from app.platform.access import Principal, Role
from app.platform.database import Database
from tests.support.context import context_for
from tests.support.database import (
    is_postgres,
    reset_schema,
    test_database_url,
    test_read_database_url,
    truncate_all,
)

# The tests run on PostgreSQL with the built-in development key, as a trial would: production
# (the default with PostgreSQL) would refuse to start without OMNISTOCK_SECRET_KEY.
os.environ.setdefault("OMNISTOCK_ENV", "development")
# Web and app pickup orders without Stripe are paid at the counter (payments fail closed
# otherwise); the tests of payments use localstripe (`paid_settings`, `shop`).
os.environ.setdefault("PAYMENTS", "at_counter")

pytest_plugins = ["tests.support.shopify"]  # the Shopify emulator fixtures

ADMIN = Principal(key_id="test-admin", name="tester", role=Role.ADMIN)
STOREFRONT = Principal(key_id="test-web", name="web", role=Role.STOREFRONT)


@pytest.fixture(scope="session")
def database_url() -> str:
    url = test_database_url()
    reset_schema(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """With TEST_DATABASE_READ_URL the API's GETs read the replica; every read sees every
    earlier write of the test process (the fixtures write without a caller), waiting briefly
    for the replica to catch up before it falls back to the primary."""
    read_url = test_read_database_url(database_url)
    return replace(
        Settings.from_env(),
        database_url=database_url,
        redis_url=None,
        log_level="WARNING",
        in_process_workers=False,
        database_read_url=read_url,
        read_your_writes="process",
        read_catch_up_seconds=0.2 if read_url else 0.0,
    )


@pytest.fixture
def on_postgres(database_url: str) -> bool:
    return is_postgres(database_url)


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = bootstrap.database(settings, pool_size=10)
    await truncate_all(database.engine)
    forget_known_levels()
    yield database
    await database.dispose()


@pytest.fixture
async def app(settings: Settings, db: Database) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@dataclass
class Keys:
    """Bearer headers for one key of every role (the POS key works at STORE-A)."""

    admin: dict[str, str]
    storefront: dict[str, str]
    mobile: dict[str, str]
    pos: dict[str, str]
    readonly: dict[str, str]


@pytest.fixture
async def keys(db: Database, world: World) -> Keys:
    async def make(role: Role, location: str | None = None) -> dict[str, str]:
        issued = await create_api_key(
            context_for(db), None, name=f"t-{role}", role=role, location=location
        )
        return {"Authorization": f"Bearer {issued.secret}"}

    return Keys(
        admin=await make(Role.ADMIN),
        storefront=await make(Role.STOREFRONT),
        mobile=await make(Role.MOBILE),
        pos=await make(Role.POS, "STORE-A"),
        readonly=await make(Role.READONLY),
    )


@dataclass
class World:
    """A small retailer: two stores in London, one in Manchester, a warehouse, three SKUs."""

    db: Database

    async def location(self, code: str, **overrides: Any) -> None:
        values: dict[str, Any] = {
            "name": code,
            "kind": "store",
            "latitude": 51.5,
            "longitude": -0.12,
            "pickup_enabled": True,
            "ship_enabled": False,
            "default_safety_stock": 0,
        }
        values.update(overrides)
        await catalogue.create_location(
            context_for(self.db), ADMIN, NewLocation(code=code, **values)
        )

    async def receive(self, location: str, sku: str, quantity: int) -> None:
        """Units delivered to `location`, posted by an admin."""
        await movements.record_movement(
            context_for(self.db),
            ADMIN,
            location=location,
            sku=sku,
            kind=MovementKind.RECEIPT,
            quantity=quantity,
        )

    async def sku(self, code: str, price_minor: int = 1000) -> None:
        await catalogue.create_sku(
            context_for(self.db),
            ADMIN,
            SkuData(sku=code, name=code, price_minor=price_minor, currency="GBP"),
        )


@pytest.fixture
async def world(db: Database) -> World:
    w = World(db)
    await w.location("STORE-A", name="Oxford Street", latitude=51.5152, longitude=-0.1419)
    await w.location("STORE-B", name="Shoreditch", latitude=51.5265, longitude=-0.0798)
    await w.location("STORE-M", name="Manchester", latitude=53.4808, longitude=-2.2426)
    await w.location(
        "WH-1",
        name="Warehouse",
        kind="warehouse",
        latitude=51.53,
        longitude=-0.276,
        pickup_enabled=False,
        ship_enabled=True,
    )
    for code in ("TEE-1", "TEE-2", "MUG-1"):
        await w.sku(code)
    return w


@pytest.fixture(scope="session")
def localstripe_url() -> Iterator[str]:
    from tests.support.stripe import running_localstripe

    with running_localstripe() as url:
        yield url


@pytest.fixture
def paid_settings(settings: Settings, localstripe_url: str) -> Settings:
    from tests.support.stripe import API_KEY, WEBHOOK_SECRET

    return replace(
        settings,
        stripe_api_key=API_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=localstripe_url,
    )


@pytest.fixture
async def shop(
    paid_settings: Settings, db: Database, world: World
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The API with payments through the real stripe SDK against localstripe."""
    async with AsyncTestClient(app=create_app(paid_settings)) as test_client:
        yield test_client


@pytest.fixture
def ctx(db: Database, settings: Settings) -> AppContext:
    """The use cases' context on the test's own event loop (payments offline)."""
    return context_for(db, settings)


@pytest.fixture
def orders_ctx(ctx: AppContext) -> OrderContext:
    return ctx


@pytest.fixture
def paid_orders_ctx(db: Database, paid_settings: Settings) -> OrderContext:
    return context_for(db, paid_settings)
