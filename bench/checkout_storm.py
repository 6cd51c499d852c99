"""Checkout storm: concurrent clients placing pickup and ship orders over HTTP against the API
as deployed (uvicorn, 2 worker processes, loopback, PostgreSQL), across 50 stores and 20,000
SKUs, then the same run with every client after one hot SKU at one store. Reports orders/s,
p50/p95/p99, and the oversell count (units promised beyond what was there; must be 0).

Baseline, in the same invocation: the same reservation transaction issued straight through
asyncpg (lock the level, check, update it, append the movement, write the order, its line,
allocation and event, and claim the idempotency key) — the database's own ceiling for that work.

    python -m bench.checkout_storm [--orders 3000 --concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.availability import asyncpg_dsn
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
    write_result,
)

STORES, SKUS, STORES_PER_SKU, ON_HAND = 50, 20_000, 10, 40
HOT_UNITS = 500
SECRET = "osk_bench_checkout_key"


async def seed(url: str, rng: random.Random) -> dict[int, list[int]]:
    """Stores around London, SKUs stocked at a few stores each; returns sku -> store ids."""
    await recreate_database(url)
    now = datetime.now(UTC)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    stocked: dict[int, list[int]] = {}
    try:
        await connection.copy_records_to_table(
            "locations",
            columns=["id", "code", "name", "kind", "latitude", "longitude", "pickup_enabled",
                     "ship_enabled", "default_safety_stock", "created_at"],
            records=[(i, f"S{i:02d}", f"Store {i}", "store", 51.3 + rng.random() * 0.4,
                      -0.5 + rng.random() * 0.7, True, i % 5 == 0, 0, now)
                     for i in range(1, STORES + 1)])
        await connection.copy_records_to_table(
            "skus", columns=["id", "sku", "name", "price_minor", "currency", "created_at",
                             "updated_at"],
            records=[(i, f"SKU{i:05d}", f"Item {i}", 1000 + i % 50, "GBP", now, now)
                     for i in range(1, SKUS + 1)])
        stock = []
        for sku_id in range(1, SKUS + 1):
            stocked[sku_id] = rng.sample(range(1, STORES + 1), STORES_PER_SKU)
            for location_id in stocked[sku_id]:
                stock.append((sku_id, location_id, HOT_UNITS if sku_id == 1 else ON_HAND, 0))
        await copy_opening_stock(connection, stock)
        await add_api_key(connection, "storefront", SECRET)
        for table in ("locations", "skus"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))")
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return stocked


def order_bodies(count: int, stocked: dict[int, list[int]], rng: random.Random,
                 hot: bool) -> list[dict[str, Any]]:
    bodies = []
    for i in range(count):
        if hot:
            lines = [(1, 1)]
            store = stocked[1][0]
            fulfilment: dict[str, Any] = {"type": "pickup", "location": f"S{store:02d}"}
        elif rng.random() < 0.7:
            sku = rng.randint(2, SKUS)
            store = rng.choice(stocked[sku])
            lines = [(sku, rng.randint(1, 2))]
            fulfilment = {"type": "pickup", "location": f"S{store:02d}"}
        else:
            lines = [(rng.randint(2, SKUS), 1) for _ in range(rng.randint(1, 3))]
            fulfilment = {"type": "ship", "address": {
                "line1": "1 High St", "city": "London", "postal_code": "N1", "country": "GB",
                "latitude": 51.5, "longitude": -0.1}}
        merged: dict[int, int] = {}
        for sku, quantity in lines:
            merged[sku] = merged.get(sku, 0) + quantity
        bodies.append({"customer": {"email": f"c{i % 997}@example.com"},
                       "lines": [{"sku": f"SKU{s:05d}", "quantity": q}
                                 for s, q in merged.items()],
                       "fulfilment": fulfilment})
    return bodies


async def run_http(base: str, bodies: list[dict[str, Any]], concurrency: int
                   ) -> tuple[Latencies, dict[int, int]]:
    statuses: dict[int, int] = {}
    async with LeanPool(base, {"Authorization": f"Bearer {SECRET}"}, concurrency) as pool:
        async def one(body: dict[str, Any]) -> None:
            status, answer = await pool.request("POST", "/v1/orders", json.dumps(body).encode(),
                                                {"Idempotency-Key": str(uuid.uuid4())})
            statuses[status] = statuses.get(status, 0) + 1
            if status not in (201, 409):
                raise RuntimeError(f"{status}: {answer[:300]!r}")

        return await _drive(bodies, concurrency, one), statuses


# The same work as one order of `place_order`, in plain SQL: the ceiling for that work.
CLAIM = ("INSERT INTO idempotency_records (scope, key, request_hash, state, created_at) "
         "VALUES ('bench', $1, 'h', 'applied', now())")
LOCK = ("SELECT on_hand, reserved, safety_stock FROM stock_levels "
        "WHERE location_id = $1 AND sku_id = $2 FOR UPDATE")
RESERVE = ("UPDATE stock_levels SET reserved = reserved + $3, version = version + 1, "
           "updated_at = now() WHERE location_id = $1 AND sku_id = $2")
MOVEMENT = ("INSERT INTO stock_movements (sku_id, location_id, kind, on_hand_delta, "
            "reserved_delta, safety_stock_delta, incoming_delta, channel, reference, actor, "
            "created_at) VALUES ($1, $2, 'reservation', 0, $3, 0, 0, 'web', $4, 'bench', now())")
CUSTOMER = ("INSERT INTO customers (id, email, created_at) VALUES ($1, $2, now()) "
            "ON CONFLICT (email) DO UPDATE SET email = excluded.email RETURNING id")
ORDER = ("INSERT INTO orders (id, number, channel, status, at_risk, customer_id, "
         "fulfilment_type, pickup_location_id, total_minor, currency, payment_provider, "
         "payment_status, failed_code_attempts, created_by, created_at, updated_at) VALUES "
         "($1, $2, 'web', 'confirmed', false, $3, 'pickup', $4, $5, 'GBP', 'offline', "
         "'not_required', 0, 'bench', now(), now())")
LINE = ("INSERT INTO order_lines (order_id, sku_id, quantity, unit_price_minor, "
        "returned_quantity) VALUES ($1, $2, $3, 1000, 0)")
ALLOCATION = ("INSERT INTO order_allocations (order_id, sku_id, location_id, quantity) "
              "VALUES ($1, $2, $3, $4)")
EVENT = ("INSERT INTO events (order_id, customer_id, event, channel, actor, summary, at) "
         "VALUES ($1, $2, 'placed', 'web', 'bench', 'placed', now())")


async def run_direct(url: str, bodies: list[dict[str, Any]], concurrency: int) -> Latencies:
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=concurrency,
                                     max_size=concurrency)
    codes = {f"S{i:02d}": i for i in range(1, STORES + 1)}

    async def one(body: dict[str, Any]) -> None:
        location = codes.get(body["fulfilment"].get("location", "S05"), 5)
        lines = [(int(line["sku"][3:]), int(line["quantity"])) for line in body["lines"]]
        order_id = uuid.uuid4()
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(CLAIM, str(order_id))
            for sku_id, quantity in sorted(lines):
                row = await connection.fetchrow(LOCK, location, sku_id)
                if row is None or row[0] - row[1] - row[2] < quantity:
                    return  # short: the real service rolls back too
                await connection.execute(RESERVE, location, sku_id, quantity)
                await connection.execute(MOVEMENT, sku_id, location, quantity,
                                         f"order:{order_id}")
            customer = await connection.fetchval(CUSTOMER, uuid.uuid4(),
                                                 body["customer"]["email"])
            await connection.execute(ORDER, order_id, order_id.hex[:12], customer, location,
                                     1000 * len(lines))
            for sku_id, quantity in lines:
                await connection.execute(LINE, order_id, sku_id, quantity)
                await connection.execute(ALLOCATION, order_id, sku_id, location, quantity)
            await connection.execute(EVENT, order_id, customer)

    try:
        return await _drive(bodies, concurrency, one)
    finally:
        await pool.close()


async def _drive(bodies: list[dict[str, Any]], concurrency: int, call: Any) -> Latencies:
    pending = list(reversed(bodies))
    seconds: list[float] = []

    async def client() -> None:
        while pending:
            body = pending.pop()
            started = time.perf_counter()
            await call(body)
            seconds.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Latencies(seconds, time.perf_counter() - started)


async def oversold_units(url: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await connection.fetchval(
            "SELECT coalesce(sum(reserved - on_hand + safety_stock), 0) FROM stock_levels "
            "WHERE on_hand - reserved - safety_stock < 0"))
    finally:
        await connection.close()


async def scenario(name: str, hot: bool, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(7)
    url = bench_database_url("omnistock_bench_checkout")
    stocked = await seed(url, rng)
    bodies = order_bodies(args.orders, stocked, rng, hot)
    direct = (await run_direct(url, bodies, args.concurrency)).summary()
    stocked = await seed(url, random.Random(7))  # the API starts from the same stock
    cpu_before = cpu_seconds()
    with api_server(url, workers=2) as base:
        wall = time.perf_counter()
        latencies, statuses = await run_http(base, bodies, args.concurrency)
        wall = time.perf_counter() - wall
    http = latencies.summary()
    load_cpu = cpu_seconds() - cpu_before
    oversold = await oversold_units(url)
    return {"scenario": name, "api_http": http, "direct_sql": direct,
            "ratio_api_to_direct_sql": round(http["per_second"] / direct["per_second"], 3),
            "accepted": statuses.get(201, 0), "refused_409": statuses.get(409, 0),
            "oversold_units": oversold, "load_generator_cpu_seconds": round(load_cpu, 2),
            "load_generator_cpu_share_of_wall": round(load_cpu / wall, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    results = [await scenario("uniform", False, args), await scenario("hot_sku", True, args)]
    for result in results:
        print_table(f"checkout storm, {result['scenario']}: {args.orders} orders, "
                    f"{args.concurrency} clients", [
                        ("API over HTTP (uvicorn x2)", result["api_http"]),
                        ("same transaction via asyncpg", result["direct_sql"])])
        print(f"ratio API / direct SQL: {result['ratio_api_to_direct_sql']}   accepted "
              f"{result['accepted']}, refused {result['refused_409']}, oversold units "
              f"{result['oversold_units']}   load generator CPU "
              f"{result['load_generator_cpu_seconds']}s "
              f"({result['load_generator_cpu_share_of_wall']:.0%} of one core)")
    path = write_result("checkout_storm", {"benchmark": "checkout_storm",
                                           "orders": args.orders,
                                           "concurrency": args.concurrency,
                                           "scenarios": results})
    print(f"written {path}")
    print(json.dumps({r["scenario"]: r["ratio_api_to_direct_sql"] for r in results}))


if __name__ == "__main__":
    asyncio.run(main())
