"""Local stock lookups: `GET /v1/availability` with 1,000 stores and 100,000 SKUs.

Seeds a PostgreSQL database (levels and their receipt movements, so the ledger holds), serves
the API as deployed (`omnistock serve`: granian, 2 worker processes, loopback), fires
concurrent lookups from random points and compares with the same SQL issued straight through
asyncpg, in alternating rounds.

    python -m bench.availability [--stores 1000 --skus 100000 --stores-per-sku 20 --rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import asyncpg
from sqlalchemy.engine import make_url

from bench.common import (
    Latencies,
    LeanPool,
    add_api_key,
    api_server,
    bench_database_url,
    copy_opening_stock,
    cpu_seconds,
    print_table,
    recreate_database,
    settle,
    write_result,
)

# Stores spread over Great Britain's populated box; lookups come from the same box.
LAT, LON = (50.4, 55.9), (-4.5, 1.3)
SECRET = "osk_bench_availability_key"
DIRECT_SQL = """
SELECT k.sku, l.id, l.code, l.name, l.latitude, l.longitude, l.pickup_enabled,
       s.on_hand - s.reserved - s.safety_stock AS available, l.timezone,
       CAST(l.opening_hours AS TEXT), CAST(l.closed_dates AS TEXT), l.pickup_lead_minutes,
       l.pickup_paused
FROM skus k LEFT JOIN (stock_levels s JOIN locations l
    ON l.id = s.location_id AND l.kind = 'store'
   AND l.latitude BETWEEN $3 AND $4 AND l.longitude BETWEEN $5 AND $6)
  ON s.sku_id = k.id AND s.on_hand - s.reserved - s.safety_stock >= $2
WHERE k.sku = ANY($1::varchar[])
"""
"""The statement `GET /v1/availability` runs (app/inventory/queries.py), in asyncpg's dialect."""


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def seed(url: str, stores: int, skus: int, stores_per_sku: int, rng: random.Random) -> None:
    await recreate_database(url)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    now = datetime.now(UTC)
    try:
        await connection.copy_records_to_table(
            "locations",
            columns=[
                "id",
                "code",
                "name",
                "kind",
                "latitude",
                "longitude",
                "pickup_enabled",
                "ship_enabled",
                "default_safety_stock",
                "created_at",
            ],
            records=[
                (
                    i,
                    f"S{i:04d}",
                    f"Store {i}",
                    "store",
                    rng.uniform(*LAT),
                    rng.uniform(*LON),
                    True,
                    False,
                    1,
                    now,
                )
                for i in range(1, stores + 1)
            ],
        )
        await connection.copy_records_to_table(
            "skus",
            columns=["id", "sku", "name", "price_minor", "currency", "created_at", "updated_at"],
            records=[
                (i, f"SKU{i:06d}", f"Item {i}", 1000, "GBP", now, now) for i in range(1, skus + 1)
            ],
        )
        stock = []
        for sku_id in range(1, skus + 1):
            for location_id in rng.sample(range(1, stores + 1), stores_per_sku):
                stock.append((sku_id, location_id, rng.randint(0, 12), 1))
        await copy_opening_stock(connection, stock)
        await add_api_key(connection, "mobile", SECRET)
        for table in ("locations", "skus"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        await settle(connection)
    finally:
        await connection.close()


def lookups(count: int, skus: int, rng: random.Random) -> list[dict[str, object]]:
    queries = []
    for _ in range(count):
        wanted = [f"SKU{rng.randint(1, skus):06d}" for _ in range(1 if rng.random() < 0.8 else 3)]
        queries.append(
            {
                "sku": wanted,
                "latitude": round(rng.uniform(*LAT), 5),
                "longitude": round(rng.uniform(*LON), 5),
                "radius_km": 25,
            }
        )
    return queries


async def run_http(base: str, queries: list[dict[str, object]], concurrency: int) -> Latencies:
    async with LeanPool(base, {"Authorization": f"Bearer {SECRET}"}, concurrency) as pool:

        async def one(query: dict[str, object]) -> None:
            status, body = await pool.request("GET", lookup_target(query))
            if status != 200:
                raise RuntimeError(f"{status}: {body[:300]!r}")

        for query in queries[:50]:  # warm-up: connections, caches
            await one(query)
        return await _drive(queries, concurrency, one)


async def run_direct(url: str, queries: list[dict[str, object]], concurrency: int) -> Latencies:
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=concurrency, max_size=concurrency)
    try:

        async def one(query: dict[str, object]) -> object:
            return await direct_lookup(pool, query)

        return await _drive(queries, concurrency, one)
    finally:
        await pool.close()


async def direct_lookup(pool: asyncpg.Pool, query: dict[str, object]) -> object:
    """One lookup's statement straight through asyncpg (the baseline's unit of work)."""
    from app.inventory.geo import bounding_box

    box = bounding_box(
        float(query["latitude"]),  # type: ignore[arg-type]
        float(query["longitude"]),  # type: ignore[arg-type]
        25.0,
    )
    return await pool.fetch(DIRECT_SQL, query["sku"], 1, *box)


def lookup_target(query: dict[str, object]) -> str:
    """The request target of one lookup."""
    return "/v1/availability?" + urlencode(query, doseq=True)


async def _drive(queries: list[dict[str, object]], concurrency: int, call: object) -> Latencies:
    pending = list(queries)
    seconds: list[float] = []

    async def client() -> None:
        while pending:
            query = pending.pop()
            started = time.perf_counter()
            await call(query)  # type: ignore[operator]
            seconds.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Latencies(seconds, time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--stores-per-sku", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    rng = random.Random(42)
    url = bench_database_url("omnistock_bench_availability")
    if not args.skip_seed:
        started = time.perf_counter()
        await seed(url, args.stores, args.skus, args.stores_per_sku, rng)
        print(
            f"seeded {args.stores} stores, {args.skus} SKUs, "
            f"{args.skus * args.stores_per_sku} levels in {time.perf_counter() - started:.1f}s"
        )
    queries = lookups(args.requests, args.skus, rng)

    # Rounds alternate the baseline and the API so that both see the same shared machine;
    # the ratio is the mean of the rounds' ratios.
    await run_direct(url, queries, args.concurrency)  # warm PostgreSQL's cache, untimed
    rounds = []
    for _ in range(args.rounds):
        direct = (await run_direct(url, queries, args.concurrency)).summary()
        cpu_before = cpu_seconds()
        with api_server(url, workers=2) as base:
            wall = time.perf_counter()
            http = (await run_http(base, queries, args.concurrency)).summary()
            wall = time.perf_counter() - wall
        load_cpu = cpu_seconds() - cpu_before
        rounds.append((direct, http, load_cpu, wall))
    direct, http, load_cpu, wall = rounds[-1]
    ratios = [round(h["per_second"] / d["per_second"], 3) for d, h, _, _ in rounds]
    ratio = round(statistics.fmean(ratios), 3)
    result = {
        "benchmark": "availability",
        "dataset": {
            "stores": args.stores,
            "skus": args.skus,
            "levels": args.skus * args.stores_per_sku,
        },
        "concurrency": args.concurrency,
        "api_http": http,
        "direct_sql": direct,
        "ratio_api_to_direct_sql": ratio,
        "ratio_by_round": ratios,
        "api_per_second_by_round": [h["per_second"] for _, h, _, _ in rounds],
        "direct_per_second_by_round": [d["per_second"] for d, _, _, _ in rounds],
        "load_generator_cpu_seconds": round(load_cpu, 2),
        "load_generator_cpu_share_of_wall": round(load_cpu / wall, 2),
    }
    print_table(
        "GET /v1/availability (radius 25 km, 80% one SKU, 20% three)",
        [("API over HTTP (granian x2)", http), ("same SQL straight via asyncpg", direct)],
    )
    print(
        f"ratio API / direct SQL: {ratio} (rounds: {', '.join(map(str, ratios))})   "
        f"load generator CPU: {load_cpu:.1f}s "
        f"({result['load_generator_cpu_share_of_wall']:.0%} of one core)"
    )
    print(f"written {write_result('availability', result)}")


if __name__ == "__main__":
    asyncio.run(main())
