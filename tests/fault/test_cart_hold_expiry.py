"""A worker is SIGKILLed while it releases expired cart holds: nothing is lost and nothing is
held forever. Carts held at the stores (Shopify's published quantities drop), their holds run
out, the worker releasing them is killed part way and replaced; afterwards every hold is
released exactly once, the books balance (tests/fault/audit.py) and Shopify shows our
available again."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from app.carts import holding
from app.carts.holding import CartChange
from app.platform.access import Principal, Role
from app.platform.database import Database
from tests.fault import audit
from tests.fault.conftest import OPENING_STOCK, SHOPIFY_BUFFER, STORES, Retailer
from tests.fault.test_faults_under_load import eventually, shopify_differences
from tests.support.context import context_for
from tests.support.processes import Fleet, service_env, wait_until

CARTS = 150  # within one run of the expiry job (its batch is 200)
APP = Principal("fault-app", "app", Role.MOBILE)


async def _held_carts(db: Database) -> int:
    async with db.engine.connect() as c:
        held = await c.scalar(text("SELECT count(*) FROM carts WHERE hold_location_id IS NOT NULL"))
    return int(held or 0)


async def _held_carts_at(url: str) -> int:
    db = Database(url, pool_size=1)
    try:
        return await _held_carts(db)
    finally:
        await db.dispose()


def _released_once(url: str) -> Callable[[], Awaitable[list[str]]]:
    async def problems() -> list[str]:
        books = await audit.read_books(url)
        found = audit.levels_not_matching_their_movements(books)
        found += audit.reserved_not_held_by_open_orders(books)
        per_cart: dict[str, int] = {}
        for movement in books.movements:
            if (movement["reference"] or "").startswith("cart:"):
                ref = movement["reference"]
                per_cart[ref] = per_cart.get(ref, 0) + movement["reserved_delta"]
        found += [f"{ref} still holds {n}" for ref, n in per_cart.items() if n]
        if len(per_cart) != CARTS:
            found.append(f"{len(per_cart)} carts in the ledger, expected {CARTS}")
        return found

    return problems


async def test_a_worker_killed_while_releasing_holds_loses_nothing(
    fleet: Fleet, retailer: Retailer, scratch_database_url: str
) -> None:
    db = Database(scratch_database_url, pool_size=4)
    ctx = context_for(db)
    timeline: list[str] = []
    try:
        places = itertools.cycle(itertools.product(STORES, retailer.skus))
        for n in range(CARTS):
            store, sku = next(places)
            await holding.start_cart(
                ctx, APP, f"shopper{n}@example.com", CartChange([(sku, 1)], store)
            )
        redis = await asyncio.to_thread(fleet.redis)
        env = service_env(scratch_database_url, redis.url, STOREFRONT_FLUSH_SECONDS="0.5")
        worker = await asyncio.to_thread(fleet.worker, env)
        # the storefront learns of the holds: Shopify publishes our available, less the holds
        await eventually(shopify_differences(retailer), 45, "Shopify shows the holds")
        sku, store = retailer.skus[0], STORES[0]
        assert retailer.shop.theirs(sku, store) < OPENING_STOCK - SHOPIFY_BUFFER

        async with db.engine.begin() as c:  # the holds run out
            await c.execute(text("UPDATE carts SET held_until = now() - interval '1 minute'"))

        def releasing() -> bool:
            return asyncio.run(_held_carts_at(scratch_database_url)) < CARTS

        await asyncio.to_thread(wait_until, releasing, 90, "the worker starts releasing holds")
        victim = worker.kill_child()
        left = await _held_carts(db)
        timeline.append(f"SIGKILL worker process {victim} with {left} of {CARTS} carts held")
        await asyncio.to_thread(wait_until, lambda: not worker.alive, 15, "the worker dies")
        await asyncio.to_thread(fleet.worker, env)

        await eventually(_released_once(scratch_database_url), 120, "every hold released once")
        assert await _held_carts(db) == 0
        await eventually(shopify_differences(retailer), 60, "Shopify shows the units again")
        assert retailer.shop.theirs(sku, store) == OPENING_STOCK - SHOPIFY_BUFFER
    finally:
        print("\n".join(timeline))
        await db.dispose()
