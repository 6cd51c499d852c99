"""Storefront sync under a burst: 10,000 stock changes, then how long until the Shopify
emulator (standard plan: bucket 2,000 points, restore 100/s) shows exactly our stock, and
how many GraphQL calls that took, against the fewest the 250-per-call limit allows.

Three runs on the same data: the burst written first and flushed after
(`burst_then_flush`); a worker flushing every second while the burst is being written
(`flush_every_second`, what a deployment does); and four workers each taking a flush message
every quarter second (`four_workers_queued`: queued messages and extra workers, which the
flush coalesces to about one push per storefront per second). `calls_per_burst_second` is
the pushes made while the burst was being written, per second of it (`--burst-seconds`
spreads the burst's transactions over that long, as a slow host or a busy day does). The
naive alternative, one call per change, is given as the figure
the bucket would impose on it (not run: it would take a quarter of an hour).

    python -m bench.sync_burst [--changes 10000 --skus 1000 --burst-seconds 18 --sqlite]

PostgreSQL from BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres;
a database `omnistock_bench_sync` is created and dropped), or a SQLite file with --sqlite.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.bootstrap import AppContext, build_context
from app.config import Settings
from app.integrations.shopify.throttle import forget_buckets
from app.inventory import availability, catalogue, movements
from app.inventory.catalogue import NewLocation, SkuData
from app.platform import migrate
from app.platform.access import Principal, Role
from app.platform.database import Database
from app.platform.logging import configure_logging
from app.storefronts import push, setup
from app.storefronts.setup import NewStorefront
from bench.common import bench_database_url, recreate_database, write_result
from shopify_emulator import RunningEmulator
from shopify_emulator.ratelimit import (
    STANDARD_MAXIMUM_AVAILABLE,
    STANDARD_RESTORE_RATE,
)

ADMIN = Principal(key_id="bench", name="bench", role=Role.ADMIN)
LOCATIONS = ("STORE-1", "WH-1")
LINES_PER_TRANSACTION = 100
MUTATION_COST = 10  # the emulator's (and roughly Shopify's) cost of one mutation
FLUSH_INTERVAL = 1.0  # STOREFRONT_FLUSH_SECONDS
MODES = ("burst_then_flush", "flush_every_second", "four_workers_queued")
WORKERS = {"flush_every_second": [1.0], "four_workers_queued": [0.25] * 4}
"""Each worker loop's pause between two flush messages it takes."""


def context_for(db: Database) -> AppContext:
    """The context a worker process builds, over the benchmark's database."""
    settings = replace(Settings.from_env(), database_url=db.url, redis_url=None)
    return build_context(settings, db)


async def prepare(url: str, skus: int, emulator: RunningEmulator) -> tuple[Database, Any]:
    db = Database(url, pool_size=5)
    for code in LOCATIONS:
        await catalogue.create_location(
            context_for(db),
            ADMIN,
            NewLocation(
                code=code,
                name=code,
                kind="store",
                latitude=51.5,
                longitude=-0.1,
                pickup_enabled=True,
                ship_enabled=True,
                default_safety_stock=1,
            ),
        )
    codes = [f"SKU-{n:05d}" for n in range(skus)]
    for start in range(0, skus, 500):
        await catalogue.upsert_skus(
            context_for(db),
            ADMIN,
            [
                SkuData(sku=c, name=c, price_minor=1000, currency="GBP")
                for c in codes[start : start + 500]
            ],
        )
    shop = emulator.shop
    locations = [(code, shop.add_location(code).gid) for code in LOCATIONS]
    items = [(code, shop.add_item(code, levels=dict.fromkeys(LOCATIONS, 0)).gid) for code in codes]
    view = await setup.connect_storefront(
        context_for(db),
        ADMIN,
        NewStorefront(
            name="bench",
            shop_domain=shop.domain,
            webhook_secret="bench",
            locations=locations,
            access_token=emulator.access_token,
            api_base_url=emulator.base_url,
        ),
    )
    for start in range(0, len(items), 1000):
        await setup.map_skus(context_for(db), ADMIN, view.id, items[start : start + 1000])
    await flush_until_in_step(db, view.id)
    return db, view.id


async def write_changes(
    db: Database, changes: int, skus: int, seed: int, burst_seconds: float = 0.0
) -> set[tuple[str, str]]:
    """`changes` stock counts over random SKUs and locations, spread evenly over
    `burst_seconds` (0: as fast as they go); returns the levels touched."""
    rng = random.Random(seed)
    transactions = math.ceil(changes / LINES_PER_TRANSACTION)
    pause = burst_seconds / transactions if burst_seconds > 0 else 0.0
    codes = [f"SKU-{n:05d}" for n in range(skus)]
    touched: set[tuple[str, str]] = set()
    done = 0
    while done < changes:
        location = rng.choice(LOCATIONS)
        lines = rng.sample(codes, min(LINES_PER_TRANSACTION, changes - done))
        await movements.record_counts(
            context_for(db),
            ADMIN,
            location=location,
            counts=[(c, rng.randint(0, 50)) for c in lines],
        )
        touched.update((c, location) for c in lines)
        done += len(lines)
        if pause:
            await asyncio.sleep(pause)
    return touched


async def flush_until_in_step(db: Database, storefront_id: Any) -> None:
    while True:
        await push.push_pending_levels(context_for(db), storefront_id)
        status = await setup.sync_status(context_for(db), ADMIN, storefront_id)
        if status.pending == 0:
            return


async def verify(db: Database, emulator: RunningEmulator, skus: int) -> int:
    """Levels where Shopify differs from our available; must be 0."""
    wrong = 0
    for n in range(skus):
        code = f"SKU-{n:05d}"
        for location in LOCATIONS:
            ours = await availability.stock_level(context_for(db), code, location)
            if emulator.shop.quantity(code, location) != ours.available:
                wrong += 1
    return wrong


async def run_once(url: str, args: argparse.Namespace, mode: str) -> dict[str, Any]:
    with RunningEmulator() as emulator:
        forget_buckets()
        db, storefront_id = await prepare(url, args.skus, emulator)
        before = emulator.shop.counters.by_root_field.get("inventorySetQuantities", 0)
        throttled_before = emulator.shop.counters.throttled
        emulator.shop.configure_bucket(currently_available=STANDARD_MAXIMUM_AVAILABLE)
        stop = asyncio.Event()

        async def worker(every: float) -> None:  # what the workers' flush messages do
            while not stop.is_set():
                await push.push_pending_levels(
                    context_for(db), storefront_id, coalesce_seconds=FLUSH_INTERVAL
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=every)

        workers = WORKERS.get(mode, [])
        started = time.perf_counter()
        background = [asyncio.create_task(worker(every)) for every in workers]
        touched = await write_changes(db, args.changes, args.skus, args.seed, args.burst_seconds)
        written = time.perf_counter()
        during_burst = emulator.shop.counters.by_root_field.get("inventorySetQuantities", 0)
        stop.set()
        for task in background:
            await task
        await flush_until_in_step(db, storefront_id)
        converged = time.perf_counter()
        calls = emulator.shop.counters.by_root_field.get("inventorySetQuantities", 0) - before
        throttled = emulator.shop.counters.throttled - throttled_before
        wrong = await verify(db, emulator, args.skus)
        await db.dispose()
    minimum = math.ceil(len(touched) / 250)
    burst_seconds = written - started
    return {
        "changes": args.changes,
        "levels_touched": len(touched),
        "write_seconds": round(burst_seconds, 3),
        "calls_during_burst": during_burst - before,
        "calls_per_burst_second": round((during_burst - before) / burst_seconds, 2),
        "converge_after_last_change_seconds": round(converged - written, 3),
        "graphql_calls": calls,
        "throttled": throttled,
        "minimum_calls": minimum,
        "calls_over_minimum": round(calls / minimum, 2),
        "levels_out_of_step": wrong,
    }


def naive_seconds(changes: int) -> float:
    """One call per change under the standard bucket: the burst allowance, then refill."""
    points = changes * MUTATION_COST
    return max(0.0, (points - STANDARD_MAXIMUM_AVAILABLE) / STANDARD_RESTORE_RATE)


async def main(args: argparse.Namespace) -> None:
    configure_logging("WARNING")
    results: dict[str, Any] = {}
    for mode in MODES:
        if args.sqlite:
            path = Path(tempfile.mkdtemp(prefix="omnistock-bench-")) / "sync.db"
            url = f"sqlite+aiosqlite:///{path}"
            await asyncio.to_thread(migrate.upgrade, url)
        else:
            url = bench_database_url("omnistock_bench_sync")
            await recreate_database(url)
        results[mode] = await run_once(url, args, mode)
    naive = {"graphql_calls": args.changes, "seconds_at_least": naive_seconds(args.changes)}
    result = {
        "benchmark": "sync_burst",
        "database": "sqlite" if args.sqlite else "postgresql",
        "shopify_plan": {
            "bucket": STANDARD_MAXIMUM_AVAILABLE,
            "restore_per_second": STANDARD_RESTORE_RATE,
        },
        "skus": args.skus,
        "locations": len(LOCATIONS),
        "burst_seconds_asked": args.burst_seconds,
        **results,
        "naive_one_call_per_change": naive,
    }
    columns = {
        "changes": "changes",
        "levels_touched": "levels",
        "graphql_calls": "calls",
        "minimum_calls": "min calls",
        "calls_per_burst_second": "calls/s",
        "throttled": "throttled",
        "write_seconds": "write s",
        "converge_after_last_change_seconds": "converge s",
        "levels_out_of_step": "wrong",
    }
    print(
        f"\nStorefront sync: {args.changes:,} changes, {args.skus:,} SKUs x "
        f"{len(LOCATIONS)} locations, standard Shopify bucket ({result['database']})"
    )
    print(f"{'':<24}" + "".join(f"{label:>11}" for label in columns.values()))
    for mode in MODES:
        print(f"{mode:<24}" + "".join(f"{results[mode][k]:>11}" for k in columns))
    naive_row = {
        "changes": args.changes,
        "calls": args.changes,
        "converge s": f">={round(naive['seconds_at_least'])}",
    }
    print(
        f"{'naive: 1 call per change':<24}"
        + "".join(f"{naive_row.get(label, ''):>11}" for label in columns.values())
    )
    print(f"\nwritten to {write_result('sync_burst', result)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--skus", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file, not PostgreSQL")
    parser.add_argument(
        "--burst-seconds", type=float, default=0.0, help="spread the burst over this long"
    )
    asyncio.run(main(parser.parse_args()))
