"""Local stock lookups: `GET /v1/availability` with 1,000 stores and 100,000 SKUs.

Seeds a PostgreSQL database (levels and their receipt movements, so the ledger holds), serves
the API as deployed (`omnistock serve`: granian, 2 worker processes, loopback), fires
concurrent lookups from random points and compares with the same SQL issued straight through
asyncpg, in alternating rounds.

    python -m bench.availability [--stores 1000 --skus 100000 --stores-per-sku 20 --rounds 3]
                                 [--replica]

With `--replica` (or BENCH_REPLICA=1) each round also serves the lookups from a streaming
replica of the primary (the API started with DATABASE_READ_URL) and runs the same SQL there:
BENCH_DATABASE_READ_URL names a running replica of BENCH_DATABASE_URL's server (its database
name is replaced by the benchmark's), otherwise one is made for the run with `.ci/pg-replica`
(pg_basebackup of the local cluster, a second cluster on a free port, removed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.common import (
    Latencies,
    LeanPool,
    add_api_key,
    api_server,
    bench_database_url,
    copy_opening_stock,
    cpu_seconds,
    free_port,
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


@contextmanager
def read_replica(url: str) -> Iterator[str]:
    """The benchmark database's URL on a streaming replica: BENCH_DATABASE_READ_URL's server,
    or a replica of the local cluster made for this run (`.ci/pg-replica`) and removed after."""
    name = make_url(url).database
    given = os.environ.get("BENCH_DATABASE_READ_URL")
    if given:
        yield make_url(given).set(database=name).render_as_string(hide_password=False)
        return
    script = Path(__file__).resolve().parent.parent / ".ci" / "pg-replica"
    primary_port = str(make_url(url).port or 5432)
    port = free_port()
    directory = tempfile.mkdtemp(prefix="omnistock-bench-replica-")
    try:
        subprocess.run([str(script), "start", directory, str(port), primary_port], check=True)
        replica = make_url(url).set(host="127.0.0.1", port=port, database=name)
        yield replica.render_as_string(hide_password=False)
    finally:
        subprocess.run([str(script), "stop", directory], check=False)


async def wait_for_replay(primary_url: str, replica_url: str, seconds: float = 120) -> None:
    """Until the replica has replayed everything the primary has written so far."""
    primary = await asyncpg.connect(asyncpg_dsn(primary_url))
    replica = await asyncpg.connect(asyncpg_dsn(replica_url))
    try:
        position = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + seconds
        while not await replica.fetchval(
            "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", position
        ):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replica did not reach {position} in {seconds:.0f} s")
            await asyncio.sleep(0.1)
    finally:
        await primary.close()
        await replica.close()


def replica_share(base: str) -> dict[str, float]:
    """What one API worker's /metrics says of where its replica-eligible reads went."""
    text = httpx.get(base + "/metrics", timeout=10).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("omnistock_reads_total{", "omnistock_replica_fallbacks_total{")):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


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


@contextmanager
def _api(url: str, extra_env: dict[str, str] | None = None, attempts: int = 3) -> Iterator[str]:
    """`api_server`, started again when a worker was too slow to answer (a loaded host)."""
    for attempt in range(1, attempts + 1):
        try:
            server = api_server(url, workers=2, extra_env=extra_env)
            base = server.__enter__()
        except RuntimeError:
            if attempt == attempts:
                raise
            continue
        try:
            yield base
        finally:
            server.__exit__(None, None, None)
        return


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--stores-per-sku", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument(
        "--replica",
        action="store_true",
        default=os.environ.get("BENCH_REPLICA") == "1",
        help="also serve the lookups from a streaming replica (BENCH_REPLICA=1)",
    )
    return parser.parse_args()


async def main() -> None:
    args = _arguments()
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
    if not args.replica:
        await _measure(args, url, None, queries)
        return
    with read_replica(url) as replica_url:
        await wait_for_replay(url, replica_url)
        await _measure(args, url, replica_url, queries)


async def _measure(
    args: argparse.Namespace, url: str, replica_url: str | None, queries: list[dict[str, object]]
) -> None:
    # Rounds alternate the baseline and the API so that both see the same shared machine;
    # the ratio is the mean of the rounds' ratios.
    await run_direct(url, queries, args.concurrency)  # warm PostgreSQL's cache, untimed
    if replica_url is not None:
        await run_direct(replica_url, queries, args.concurrency)  # and the replica's
    rounds = []
    on_replica: list[tuple[dict[str, Any], dict[str, Any], dict[str, float]]] = []
    for _ in range(args.rounds):
        direct = (await run_direct(url, queries, args.concurrency)).summary()
        cpu_before = cpu_seconds()
        with _api(url) as base:
            wall = time.perf_counter()
            http = (await run_http(base, queries, args.concurrency)).summary()
            wall = time.perf_counter() - wall
        load_cpu = cpu_seconds() - cpu_before
        rounds.append((direct, http, load_cpu, wall))
        if replica_url is not None:
            replica_direct = (await run_direct(replica_url, queries, args.concurrency)).summary()
            read_env = {"DATABASE_READ_URL": replica_url}
            with _api(url, read_env) as base:
                replica_http = (await run_http(base, queries, args.concurrency)).summary()
                routed = replica_share(base)
            on_replica.append((replica_direct, replica_http, routed))
    direct, http, load_cpu, wall = rounds[-1]
    ratios = [round(h["per_second"] / d["per_second"], 3) for d, h, _, _ in rounds]
    ratio = round(statistics.fmean(ratios), 3)
    result: dict[str, Any] = {
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
    rows = [("API over HTTP (granian x2)", http), ("same SQL straight via asyncpg", direct)]
    if on_replica:
        replica_direct, replica_http, routed = on_replica[-1]
        replica_ratios = [round(h["per_second"] / d["per_second"], 3) for d, h, _ in on_replica]
        result["replica"] = {
            "api_http": replica_http,
            "direct_sql": replica_direct,
            "ratio_api_to_direct_sql": round(statistics.fmean(replica_ratios), 3),
            "ratio_by_round": replica_ratios,
            "api_per_second_by_round": [h["per_second"] for _, h, _ in on_replica],
            "direct_per_second_by_round": [d["per_second"] for d, _, _ in on_replica],
            "api_vs_primary_api_by_round": [
                round(r[1]["per_second"] / p[1]["per_second"], 3)
                for r, p in zip(on_replica, rounds, strict=True)
            ],
            "one_worker_reads_last_round": routed,
        }
        rows += [
            ("API, lookups on the replica", replica_http),
            ("same SQL on the replica", replica_direct),
        ]
    print_table("GET /v1/availability (radius 25 km, 80% one SKU, 20% three)", rows)
    print(
        f"ratio API / direct SQL: {ratio} (rounds: {', '.join(map(str, ratios))})   "
        f"load generator CPU: {load_cpu:.1f}s "
        f"({result['load_generator_cpu_share_of_wall']:.0%} of one core)"
    )
    if on_replica:
        replica = result["replica"]
        print(
            f"on the replica: API / same SQL there {replica['ratio_api_to_direct_sql']} "
            f"(rounds: {', '.join(map(str, replica['ratio_by_round']))}); "
            f"API on replica / API on primary by round: "
            f"{', '.join(map(str, replica['api_vs_primary_api_by_round']))}"
        )
        print(f"one API worker's reads (last round): {routed}")
    print(f"written {write_result('availability', result)}")


if __name__ == "__main__":
    asyncio.run(main())
