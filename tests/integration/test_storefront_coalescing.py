"""Flush coalescing: the workers' flushes push a storefront about once per flush interval,
however many flush messages are queued and however many workers take them."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.platform.database import Database
from app.platform.tables import utcnow
from app.storefronts import push
from app.storefronts.tables import Storefront
from shopify_emulator import RunningEmulator
from tests.support.context import context_for
from tests.support.shopify import ConnectedShop, connect_shop

HOUR = 3600.0


async def pushed_long_ago(shop: ConnectedShop) -> None:
    """What a flush interval going by looks like to the storefront row."""
    async with shop.db.sessionmaker() as session:
        await session.execute(
            update(Storefront)
            .where(Storefront.id == shop.storefront_id)
            .values(last_synced_at=utcnow() - timedelta(hours=2))
        )
        await session.commit()


async def queued_flushes(shop: ConnectedShop, messages: int) -> list[push.FlushReport]:
    """`messages` flush messages taken by as many workers at once."""
    ctx = context_for(shop.db, sync=shop.config)
    return list(
        await asyncio.gather(
            *(
                push.push_pending_levels(ctx, shop.storefront_id, coalesce_seconds=HOUR)
                for _ in range(messages)
            )
        )
    )


async def test_many_queued_flushes_make_one_push_per_interval(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=20, locations=("STORE-A",))
    await shop.converge()  # just pushed: the interval has not gone by
    await shop.count("STORE-A", [(sku, 3) for sku in shop.skus])
    before = shop.mutations

    await queued_flushes(shop, 8)
    assert shop.mutations == before  # within the interval: nothing, the levels wait

    await pushed_long_ago(shop)
    reports = await queued_flushes(shop, 8)
    assert shop.mutations == before + 1  # one push for the eight messages
    assert sum(r.pushed for r in reports) == 20
    await shop.count("STORE-A", [(shop.skus[0], 9)])
    await queued_flushes(shop, 8)
    assert shop.mutations == before + 1 and await shop.pending() == 1
    await shop.flush()  # an admin's resync or a direct call is not held back
    await shop.assert_in_step()


async def test_after_its_first_round_a_coalesced_flush_pushes_only_full_calls(
    db: Database, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = await connect_shop(db, emulator, sku_count=340, locations=("STORE-A",))
    await shop.converge()
    monkeypatch.setattr(push, "READ_BATCH", 300)  # rounds of 300 pending levels
    sizes: list[int] = []
    shop.config = replace(shop.config, after_push=lambda batch: sizes.append(len(batch)))
    ctx = context_for(db, sync=shop.config)
    await shop.count("STORE-A", [(sku, 1) for sku in shop.skus])
    await pushed_long_ago(shop)

    coalesced = await push.push_pending_levels(ctx, shop.storefront_id, coalesce_seconds=HOUR)

    assert sizes == [250, 50]  # round one; round two's 40 would not fill a call: they wait
    assert coalesced.pushed == 300 and await shop.pending() == 40
    await shop.count("STORE-A", [(sku, 2) for sku in shop.skus[:290]])
    await pushed_long_ago(shop)
    sizes.clear()
    await push.push_pending_levels(ctx, shop.storefront_id, coalesce_seconds=HOUR)
    assert sizes == [250, 50] and await shop.pending() == 30  # of 330, one round's worth
    direct = await push.push_pending_levels(ctx, shop.storefront_id)
    assert direct.pushed == 30 and await shop.pending() == 0
