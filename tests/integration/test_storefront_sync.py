"""The storefront sync against the Shopify emulator and the real database: bursts coalesce
into a handful of calls, the rate limit is respected, and no change is lost to 5xx answers,
a worker killed mid-call, Redis being down, or a restart."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text, update

from app.integrations.shopify.credentials import secret_box
from app.platform.database import Database
from app.storefronts import reconcile, setup
from app.storefronts.rules import LevelPush
from app.storefronts.tables import Storefront, StorefrontPending
from shopify_emulator import RunningEmulator
from tests.support.context import context_for
from tests.support.shopify import (
    ADMIN,
    connect_shop,
)


class WorkerKilled(BaseException):
    """Stands for the process dying: nothing after it runs, not even `except Exception`."""


async def burst(shop: object, changes: int, seed: int = 7) -> None:
    """`changes` stock counts spread over every SKU and location, 100 lines a transaction."""
    from tests.support.shopify import ConnectedShop

    assert isinstance(shop, ConnectedShop)
    rng = random.Random(seed)
    done = 0
    while done < changes:
        location = rng.choice(shop.locations)
        lines = rng.sample(shop.skus, min(100, changes - done, len(shop.skus)))
        await shop.count(location, [(sku, rng.randint(0, 40)) for sku in lines])
        done += len(lines)


async def test_a_burst_of_2000_changes_converges_in_a_handful_of_calls(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=300, buffer=2)
    await burst(shop, 2000)
    async with db.sessionmaker() as session:
        pending = await session.execute(select(func.count()).select_from(StorefrontPending))
        assert pending.scalar_one() == 600  # 2,000 changes coalesced into one row per level

    await shop.converge()

    assert shop.mutations <= 4  # ceil(600 / 250) = 3 calls, not 2,000
    assert emulator.shop.counters.throttled == 0
    await shop.assert_in_step(buffer=2)
    status = await setup.sync_status(context_for(db), ADMIN, shop.storefront_id)
    assert status.pending == 0 and status.lag_seconds == 0
    assert status.calls_made == shop.mutations and status.last_synced_at is not None


async def test_each_change_to_one_level_becomes_one_push_of_the_latest_value(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=1, locations=("STORE-A",))
    for quantity in (5, 3, 9, 1, 12):
        await shop.count("STORE-A", [("SKU-0000", quantity)])

    await shop.converge()

    assert shop.mutations == 1
    assert shop.theirs("SKU-0000", "STORE-A") == 12


async def test_small_bucket_is_waited_for_not_hammered(
    db: Database, emulator: RunningEmulator
) -> None:
    # Each push costs 100 points; the bucket holds 150 and refills 200/s, and starts empty.
    emulator.state.configure(mutation_cost=100)
    shop = await connect_shop(db, emulator, sku_count=300)
    await burst(shop, 1200)
    emulator.shop.configure_bucket(maximum_available=150, restore_rate=200, currently_available=0)

    await shop.converge()

    # Knowing nothing at first, the first call may be throttled; then we wait instead.
    throttled = emulator.shop.counters.throttled
    assert throttled <= 1
    assert shop.mutations - throttled == 3  # the emulator counts throttled attempts too
    await shop.assert_in_step()
    status = await setup.sync_status(context_for(db), ADMIN, shop.storefront_id)
    assert status.throttled == emulator.shop.counters.throttled


async def test_http_429_is_retried_after_the_time_it_asks(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=5)
    await shop.count("STORE-A", [("SKU-0001", 7)])
    emulator.state.fail_next(1, 429, retry_after=0.2)

    report = await shop.flush()

    assert report.errors == [] and report.throttled == 1
    await shop.assert_in_step()


async def test_a_503_mid_flush_is_retried_and_the_flush_completes(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=300)
    await burst(shop, 1000)
    await shop.flush()  # the first 600 levels
    await burst(shop, 600, seed=11)
    emulator.state.fail_next(2, 503)

    report = await shop.flush()

    assert report.errors == []
    assert emulator.state.faults.served == 2
    await shop.assert_in_step()


async def test_shopify_down_leaves_levels_pending_with_an_error_then_recovers(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=10)
    await shop.count("WH-1", [(sku, 4) for sku in shop.skus])
    emulator.state.fail_next(5, 503)  # as many as the client's attempts

    report = await shop.flush()

    assert report.pushed == 0 and "503" in report.errors[0]
    status = await setup.sync_status(context_for(db), ADMIN, shop.storefront_id)
    assert status.pending == 20 and "503" in status.errors[0]["message"]

    await shop.converge()
    await shop.assert_in_step()


async def test_worker_killed_after_shopify_applied_a_push_loses_and_doubles_nothing(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=300)
    await burst(shop, 1500)

    def die(_: list[LevelPush]) -> None:
        raise WorkerKilled()

    dying = replace(shop.config, after_push=die, lease_seconds=0.3)
    with pytest.raises(WorkerKilled):
        await shop.flush(dying)
    assert shop.mutations == 1  # Shopify applied the first 250, we never acknowledged them
    assert await shop.pending() == 600

    await asyncio.sleep(0.4)  # the dead worker's lease runs out; a restarted worker flushes
    await shop.converge()

    await shop.assert_in_step()
    # The unacknowledged batch was sent again with the same idempotency key and replayed.
    assert emulator.shop.counters.idempotent_replays == 1
    graphql_groups = emulator.shop.audit_log(source="graphql")
    assert len(graphql_groups) == 3  # 250 + 250 + 100 levels applied once each


async def test_a_change_made_during_a_push_is_pushed_again(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=2, locations=("STORE-A",))
    await shop.count("STORE-A", [("SKU-0000", 5), ("SKU-0001", 5)])

    async def flush_with_concurrent_change() -> None:
        # The push reads 5, a POS sale commits 2 before the acknowledgement.
        original = shop.config.client_factory

        class Client:
            def __init__(self, connection: object) -> None:
                self.inner = original(connection)  # type: ignore[arg-type]
                self.calls = 0
                self.throttled = 0

            def set_available(self, *args: object, **kwargs: object) -> object:
                result = self.inner.set_available(*args, **kwargs)  # type: ignore[arg-type]
                self.calls = self.inner.calls
                future = asyncio.run_coroutine_threadsafe(
                    shop.count("STORE-A", [("SKU-0000", 2)]), loop
                )
                future.result(10)
                return result

        loop = asyncio.get_running_loop()
        await shop.flush(replace(shop.config, client_factory=Client))

    await flush_with_concurrent_change()

    # The first call sent 5; the sale's change was not acknowledged with it, so the same
    # flush read the level again and sent 2.
    assert shop.mutations == 2
    assert await shop.pending() == 0
    assert shop.theirs("SKU-0000", "STORE-A") == 2


async def test_redis_down_at_commit_time_loses_nothing(
    db: Database, emulator: RunningEmulator
) -> None:
    import dramatiq
    import redis
    from dramatiq.brokers.redis import RedisBroker

    from workers.actors import storefronts as sync_actors

    shop = await connect_shop(db, emulator, sku_count=3)
    dead = RedisBroker(url="redis://127.0.0.1:1/0")  # nothing listens there
    previous = dramatiq.get_broker()
    dramatiq.set_broker(dead)
    try:
        await shop.count("STORE-A", [("SKU-0002", 8)])  # commits whatever the broker says
        with pytest.raises(redis.exceptions.ConnectionError):
            dead.enqueue(sync_actors.flush_storefront.message(str(shop.storefront_id)))
    finally:
        dramatiq.set_broker(previous)
    async with db.sessionmaker() as session:
        rows = await session.execute(select(func.count()).select_from(StorefrontPending))
        assert rows.scalar_one() == 6  # the change, and the mapping's initial levels

    await shop.converge()  # Redis back: the next scheduled flush
    assert shop.theirs("SKU-0002", "STORE-A") == 8


async def test_restart_with_a_stale_lease_and_pending_levels_converges(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=20)
    await shop.count("WH-1", [(sku, 3) for sku in shop.skus])
    async with db.sessionmaker() as session, session.begin():  # a worker died holding it
        await session.execute(
            update(Storefront).values(
                lease_owner="dead", lease_expires_at=datetime(2000, 1, 1, tzinfo=UTC)
            )
        )

    await shop.converge()

    await shop.assert_in_step()


async def test_two_flushers_never_push_the_same_storefront_at_once(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=300)
    await burst(shop, 1000)
    emulator.state.delay_responses(100)

    reports = await asyncio.gather(shop.flush(), shop.flush(), shop.flush())

    assert sorted(r.claimed for r in reports) == [False, False, True]
    assert shop.mutations == 3
    await shop.assert_in_step()


async def test_client_credentials_tokens_are_fetched_cached_and_refreshed(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=3, client_credentials=True)
    await shop.converge()
    await shop.count("STORE-A", [("SKU-0000", 4)])
    await shop.converge()
    assert emulator.shop.counters.tokens_issued == 1  # cached between flushes

    emulator.shop.expire_tokens()  # expired earlier than it said: a 401, then a new token
    await shop.count("STORE-A", [("SKU-0000", 6)])
    await shop.converge()

    assert emulator.shop.counters.tokens_issued == 2
    assert shop.theirs("SKU-0000", "STORE-A") == 6


async def test_tokens_and_secrets_are_stored_encrypted(
    db: Database, emulator: RunningEmulator
) -> None:
    await connect_shop(db, emulator, sku_count=1)
    async with db.sessionmaker() as session:
        raw = (
            await session.execute(
                text("SELECT access_token_encrypted, webhook_secret_encrypted FROM storefronts")
            )
        ).one()
    assert emulator.access_token not in raw[0] and raw[0].startswith("gAAAA")  # Fernet
    assert "whsec" not in raw[1]


async def test_reconcile_reports_drift_and_repairs_it(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=120)
    await burst(shop, 240)
    await shop.converge()
    emulator.shop.manual_edit("SKU-0003", "STORE-A", quantity=99)
    emulator.shop.manual_edit(
        "SKU-0007",
        "WH-1",
        quantity=0,
    )
    ours_3 = await shop.ours("SKU-0003", "STORE-A")
    ours_7 = await shop.ours("SKU-0007", "WH-1")
    queries_before = emulator.shop.counters.queries

    report = await reconcile.reconcile_storefront(
        context_for(db, sync=shop.config), ADMIN, shop.storefront_id
    )

    assert report.checked == 240
    drifted = {(d.sku, d.location): (d.ours, d.theirs) for d in report.drifted}
    expected = {("SKU-0003", "STORE-A"): (ours_3, 99)}
    if ours_7 != 0:
        expected[("SKU-0007", "WH-1")] = (ours_7, 0)
    assert drifted == expected
    assert report.repaired == len(expected)
    assert emulator.shop.counters.queries - queries_before == 3  # 240 levels, 100 a query
    await shop.assert_in_step()


async def test_safety_stock_and_buffer_are_withheld(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(
        db, emulator, sku_count=2, locations=("STORE-A",), buffer=3, safety_stock=2
    )
    await shop.count("STORE-A", [("SKU-0000", 10), ("SKU-0001", 4)])

    await shop.converge()

    assert shop.theirs("SKU-0000", "STORE-A") == 5  # 10 - 2 safety - 3 buffer
    assert shop.theirs("SKU-0001", "STORE-A") == 0  # never below zero


async def test_unknown_inventory_item_is_reported_and_the_rest_still_syncs(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=3, locations=("STORE-A",))
    await setup.map_skus(
        context_for(db),
        ADMIN,
        shop.storefront_id,
        [("SKU-0002", "gid://shopify/InventoryItem/1")],
    )
    await shop.count("STORE-A", [("SKU-0000", 3), ("SKU-0002", 3)])

    await shop.converge()

    assert shop.theirs("SKU-0000", "STORE-A") == 3
    status = await setup.sync_status(context_for(db), ADMIN, shop.storefront_id)
    assert any("SKU-0002" in e["message"] for e in status.errors)
    async with db.sessionmaker() as session:
        storefront = await session.get(Storefront, shop.storefront_id)
        assert storefront is not None and storefront.lease_owner is None


def test_sync_config_comes_from_settings() -> None:
    from app.bootstrap import sync_config
    from app.config import Settings

    config = sync_config(replace(Settings(), secret_key="k", shopify_timeout_seconds=3.0))
    assert (config.timeout_seconds, config.default_api_version) == (3.0, "2026-10")
    sealed = config.secrets.seal("token")
    assert sealed != "token" and secret_box("k").open(sealed) == "token"
