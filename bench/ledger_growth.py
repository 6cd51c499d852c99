"""Ledger growth: does a ledger of years slow checkout or lookups down?

Two databases seeded like `bench.checkout_storm` (50 stores around London, 20,000 SKUs at 10
stores each): one with an empty ledger (only the opening receipts), one with, on top, a
history of --movements stock movements (20 million by default) spread over the 24 months
before today and a proportional event log (--events, 4 million), written server-side with
generate_series into the monthly partitions of migration 0014. The history's movements come
in pairs that cancel (+q then -q on the same level), so the levels still equal the fold of the
ledger.

Then, in rounds that alternate the two databases, the checkout of `bench.checkout_storm`
(API over HTTP against the same transaction through asyncpg) and `GET /v1/availability` of
`bench.availability` (API against the same SQL), each as a ratio to its same-run baseline.
Reported: each ratio on the big and on the empty ledger, and their relative difference
(target: within 10 %).

    python -m bench.ledger_growth [--movements 20000000 --events 4000000 --orders 1500
                                   --lookups 5000 --rounds 2 --skip-seed]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench import availability, checkout_storm
from bench.availability import asyncpg_dsn
from bench.common import (
    add_api_key,
    api_server,
    bench_database_url,
    print_table,
    settle,
    write_result,
)

MONTHS = 24

_HISTORY = """
INSERT INTO stock_movements
    (sku_id, location_id, kind, on_hand_delta, reserved_delta, safety_stock_delta,
     incoming_delta, channel, reference, actor, created_at)
SELECT l.sku_id, l.location_id,
       CASE WHEN g % 2 = 0 THEN 'receipt' ELSE 'sale' END,
       CASE WHEN g % 2 = 0 THEN 1 + (g / 2) % 3 ELSE -(1 + (g / 2) % 3) END,
       0, 0, 0,
       CASE WHEN g % 2 = 0 THEN 'admin' ELSE 'pos' END,
       'bench:history:' || g, 'bench',
       $2::timestamptz + (g * $4::float8 / $3) * interval '1 second'
FROM generate_series(0, $3::bigint - 1) AS g
JOIN levels_numbered l ON l.n = ((g::bigint / 2) * 7919) % $1
"""
"""One month of history: pairs of movements (g even: +q, g odd: -q) on one level each."""

_EVENTS = """
INSERT INTO event_log (seq, id, type, occurred_at, location, other_location, sku, channel, data)
SELECT $1 + g, gen_random_uuid(), 'stock.changed',
       $3::timestamptz + (g * $4::float8 / $2) * interval '1 second',
       'S' || lpad(((g % 50) + 1)::text, 2, '0'), NULL,
       'SKU' || lpad(((g % 20000) + 1)::text, 5, '0'), NULL,
       json_build_object('on_hand', g % 40, 'available', g % 40)
FROM generate_series(1, $2) AS g
"""


def _months_back(now: datetime, count: int) -> list[datetime]:
    """The first instants of the `count` whole months before this one, oldest first."""
    index = now.year * 12 + now.month - 1
    return [
        datetime((index - back) // 12, (index - back) % 12 + 1, 1, tzinfo=UTC)
        for back in range(count, 0, -1)
    ]


def _next_month(month: datetime) -> datetime:
    index = month.year * 12 + month.month
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


async def seed_history(url: str, movements: int, events: int) -> dict[str, float]:
    """Months of movements and events before today, into their partitions."""
    now = datetime.now(UTC)
    months = _months_back(now, MONTHS)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    timings: dict[str, float] = {}
    try:
        for month in months:  # the migration made months from the oldest row (today) only
            upper = _next_month(month)
            for table in ("stock_movements", "event_log"):
                name = f"{table}_p{month.year:04d}_{month.month:02d}"
                await connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')"
                )
        # the foreign keys' checks are what a bulk load can skip: the ids come from the levels
        await connection.execute("SET session_replication_role = replica")
        await connection.execute(
            "CREATE TEMPORARY TABLE levels_numbered AS SELECT sku_id, location_id, "
            "row_number() OVER (ORDER BY sku_id, location_id) - 1 AS n FROM stock_levels"
        )
        await connection.execute("CREATE INDEX ON levels_numbered (n)")
        levels = int(await connection.fetchval("SELECT count(*) FROM levels_numbered"))
        per_month = movements // MONTHS // 2 * 2
        events_per_month = events // MONTHS
        started = time.perf_counter()
        for month in months:
            seconds = (_next_month(month) - month).total_seconds()
            await connection.execute(_HISTORY, levels, month, per_month, seconds)
        timings["movements_seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        head = int(await connection.fetchval("SELECT last_seq FROM event_sequence WHERE id = 1"))
        for month in months:
            seconds = (_next_month(month) - month).total_seconds()
            await connection.execute(_EVENTS, head, events_per_month, month, seconds)
            head += events_per_month
        await connection.execute("UPDATE event_sequence SET last_seq = $1 WHERE id = 1", head)
        timings["events_seconds"] = round(time.perf_counter() - started, 1)
        await connection.execute("SET session_replication_role = origin")
        started = time.perf_counter()
        await settle(connection)
        timings["vacuum_analyze_seconds"] = round(time.perf_counter() - started, 1)
    finally:
        await connection.close()
    return timings


async def seed(url: str, history: tuple[int, int] | None) -> dict[str, Any]:
    started = time.perf_counter()
    stocked = await checkout_storm.seed(url, random.Random(7))
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await add_api_key(connection, "mobile", availability.SECRET)
    finally:
        await connection.close()
    timings: dict[str, Any] = {"base_seconds": round(time.perf_counter() - started, 1)}
    if history is not None:
        timings |= await seed_history(url, *history)
    timings["total_seconds"] = round(time.perf_counter() - started, 1)
    timings["stocked"] = stocked
    return timings


async def ledger_size(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return {
            "movements": int(await connection.fetchval("SELECT count(*) FROM stock_movements")),
            "events": int(await connection.fetchval("SELECT count(*) FROM event_log")),
            "movement_partitions": int(
                await connection.fetchval(
                    "SELECT count(*) FROM pg_inherits WHERE inhparent = 'stock_movements'::regclass"
                )
            ),
        }
    finally:
        await connection.close()


def lookups(count: int, rng: random.Random) -> list[dict[str, object]]:
    """`bench.availability`'s lookups, over the checkout dataset: London, SKU codes of 5."""
    queries = []
    for _ in range(count):
        wanted = [
            f"SKU{rng.randint(2, checkout_storm.SKUS):05d}"
            for _ in range(1 if rng.random() < 0.8 else 3)
        ]
        queries.append(
            {
                "sku": wanted,
                "latitude": round(rng.uniform(51.3, 51.7), 5),
                "longitude": round(rng.uniform(-0.5, 0.2), 5),
                "radius_km": 25,
            }
        )
    return queries


@contextmanager
def _api_server(url: str, attempts: int = 3) -> Iterator[str]:
    """`api_server`, given longer to start (two workers importing the app on a busy 2-core
    host can take over 30 s), and tried again if even that is not enough."""
    with ExitStack() as stack:
        for attempt in range(attempts):
            try:
                base = stack.enter_context(api_server(url, workers=2, ready_seconds=120))
                break
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
        yield base


def _fresh_customers(bodies: list[dict[str, Any]], tag: str) -> list[dict[str, Any]]:
    """The same orders from customers of their own: each run stays under the unpaid cap."""
    return [
        {**body, "customer": {"email": f"{tag}-{i}@example.com"}} for i, body in enumerate(bodies)
    ]


async def measure(
    url: str, bodies: list[dict[str, Any]], queries: list[dict[str, object]], args: Any, tag: str
) -> dict[str, Any]:
    direct = await checkout_storm.run_direct(
        url, _fresh_customers(bodies, f"{tag}-d"), args.concurrency
    )
    await availability.run_direct(url, queries[:500], args.concurrency)  # warm, untimed
    lookups_direct = await availability.run_direct(url, queries, args.concurrency)
    with _api_server(url) as base:
        api, statuses = await checkout_storm.run_http(
            base, _fresh_customers(bodies, f"{tag}-a"), args.concurrency
        )
        lookups_api = await availability.run_http(base, queries, args.concurrency)
    result = {
        "checkout_api": api.summary(),
        "checkout_direct": direct.summary(),
        "lookups_api": lookups_api.summary(),
        "lookups_direct": lookups_direct.summary(),
        "accepted": statuses.get(201, 0),
        "refused_409": statuses.get(409, 0),
    }
    result["checkout_ratio"] = round(
        result["checkout_api"]["per_second"] / result["checkout_direct"]["per_second"], 3
    )
    result["lookup_ratio"] = round(
        result["lookups_api"]["per_second"] / result["lookups_direct"]["per_second"], 3
    )
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--movements", type=int, default=20_000_000)
    parser.add_argument("--events", type=int, default=4_000_000)
    parser.add_argument("--orders", type=int, default=1500)
    parser.add_argument("--lookups", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-seed", action="store_true", help="reuse both seeded databases")
    args = parser.parse_args()
    urls = {
        "empty": bench_database_url("omnistock_bench_ledger_empty"),
        "big": bench_database_url("omnistock_bench_ledger_big"),
    }
    seeding: dict[str, Any] = {}
    stocked: dict[int, list[int]] | None = None
    if not args.skip_seed:
        for name, history in (("empty", None), ("big", (args.movements, args.events))):
            timings = await seed(urls[name], history)
            stocked = timings.pop("stocked")
            seeding[name] = timings
            print(f"seeded the {name} ledger: {json.dumps(timings)}")
    if stocked is None:  # the seed is deterministic: the same stores per SKU
        rng = random.Random(7)
        stocked = {}
        for sku_id in range(1, checkout_storm.SKUS + 1):
            stocked[sku_id] = rng.sample(
                range(1, checkout_storm.STORES + 1), checkout_storm.STORES_PER_SKU
            )
    sizes = {name: await ledger_size(url) for name, url in urls.items()}
    print(f"ledgers: {json.dumps(sizes)}")

    rng = random.Random(11)
    bodies = checkout_storm.order_bodies(args.orders, stocked, rng, hot=False)
    queries = lookups(args.lookups, rng)
    runs: dict[str, list[dict[str, Any]]] = {"empty": [], "big": []}
    for round_number in range(args.rounds):
        order = ("empty", "big") if round_number % 2 == 0 else ("big", "empty")
        for name in order:
            runs[name].append(
                await measure(urls[name], bodies, queries, args, f"r{round_number}{name}")
            )

    summary: dict[str, Any] = {}
    for name, rounds in runs.items():
        summary[name] = {
            "checkout_ratio": round(statistics.fmean(r["checkout_ratio"] for r in rounds), 3),
            "lookup_ratio": round(statistics.fmean(r["lookup_ratio"] for r in rounds), 3),
            "checkout_ratio_by_round": [r["checkout_ratio"] for r in rounds],
            "lookup_ratio_by_round": [r["lookup_ratio"] for r in rounds],
            "last_round": rounds[-1],
        }
        last = rounds[-1]
        print_table(
            f"{name} ledger ({sizes[name]['movements']:,} movements), last round",
            [
                ("checkout: API over HTTP", last["checkout_api"]),
                ("checkout: same transaction via asyncpg", last["checkout_direct"]),
                ("availability: API over HTTP", last["lookups_api"]),
                ("availability: same SQL via asyncpg", last["lookups_direct"]),
            ],
        )
    differences = {
        kind: round(summary["big"][kind] / summary["empty"][kind] - 1, 3)
        for kind in ("checkout_ratio", "lookup_ratio")
    }
    for kind, label in (("checkout_ratio", "checkout"), ("lookup_ratio", "availability")):
        print(
            f"{label}: ratio API / direct SQL {summary['big'][kind]} on the big ledger "
            f"(rounds {summary['big'][kind + '_by_round']}), {summary['empty'][kind]} on the "
            f"empty one (rounds {summary['empty'][kind + '_by_round']}): "
            f"difference {differences[kind]:+.1%} (target within 10 %)"
        )
    path = write_result(
        "ledger_growth",
        {
            "benchmark": "ledger_growth",
            "orders": args.orders,
            "lookups": args.lookups,
            "concurrency": args.concurrency,
            "seeding": seeding,
            "ledgers": sizes,
            "summary": summary,
            "relative_difference_big_to_empty": differences,
        },
    )
    print(f"written {path}")
    print(json.dumps(differences))


if __name__ == "__main__":
    asyncio.run(main())
