"""Latency at a normal load: stock lookups and checkout at a fixed arrival rate.

Every other benchmark is closed-loop at saturation: 32 clients each waiting for its answer
before asking again, which measures the peak and hides the tail (a stall holds back the
requests that would have arrived during it). Here requests are sent open-loop, at fixed times
whatever the earlier ones did, at half the peak the closed loop measures (or `--rate`), and
each latency runs from the time the request was due. The same statements go straight through
asyncpg at the same rate, as the baseline of the same run.

It also accounts CPU: of the API's processes (granian and its workers) and of the PostgreSQL
backends serving the benchmark's database, before and after each open-loop run, per request
served; docs/capacity.md sizes deployments from these figures.

Targets (issue 17): availability p99 < 5 ms, checkout p99 < 50 ms, over HTTP at that rate.

    python -m bench.open_loop [--scenario availability|checkout|both] [--seconds 15]
        [--rounds 2] [--availability-rate N] [--checkout-rate N] [--skip-seed]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from bench import availability, checkout_storm
from bench.availability import asyncpg_dsn
from bench.common import (
    CpuSnapshot,
    LeanPool,
    api_server,
    bench_database_url,
    cpu_per_request,
    cpu_seconds,
    open_loop,
    print_table,
    print_tail_table,
    write_result,
)

AVAILABILITY_P99_TARGET_MS = 5.0
CHECKOUT_P99_TARGET_MS = 50.0
PEAK_CONCURRENCY = 32
"""The closed loop that measures the peak: the other benchmarks' 32 clients."""
DIRECT_POOL = 16
API_ENV = {"DATABASE_POOL_SIZE": "8"}
"""Connections: 16 for the baseline, up to 2 x (8 + 8 overflow) for the API. At half the peak
few requests are in flight (rate x latency), and PostgreSQL's 100 connections are shared with
whatever else runs on the server."""
HTTP_CONNECTIONS = 64
"""Keep-alive connections the open loop may have in flight: well above what the rate needs
(rate x latency), so the client never queues requests the server could have taken."""


async def _wal_position(url: str) -> int:
    """Bytes of WAL the server has written so far (every database's: an upper bound for
    one run's when something else writes meanwhile)."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return int(await connection.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))
    finally:
        await connection.close()


async def _timed_http(
    base: str,
    api_pid: int,
    database_url: str,
    secret: str,
    items: list[Any],
    rate: float,
    request: Callable[[LeanPool, Any], Awaitable[None]],
) -> dict[str, Any]:
    """Open loop of `request(pool, item)` against the API, with the CPU it cost."""
    database = str(make_url(database_url).database)
    async with LeanPool(base, {"Authorization": f"Bearer {secret}"}, HTTP_CONNECTIONS) as pool:
        for item in items[:20]:  # every connection's first request is not the run's business
            await request(pool, item)
        generator = cpu_seconds()
        wal = await _wal_position(database_url)
        before = CpuSnapshot.take(database, api_pid)
        run = await open_loop(items[20:], rate, lambda item: request(pool, item))
        spent = CpuSnapshot.take(database, api_pid).since(before)
        wal = await _wal_position(database_url) - wal
        generator = cpu_seconds() - generator
    summary = run.summary()
    return {
        **summary,
        **spent,
        **cpu_per_request(spent, summary["requests"]),
        "wal_bytes_per_request": round(wal / max(1, summary["requests"])),
        "load_generator_cpu_seconds": round(generator, 2),
    }


async def _timed_direct(
    url: str,
    database: str,
    items: list[Any],
    rate: float,
    call: Callable[[asyncpg.Pool, Any], Awaitable[object]],
) -> dict[str, Any]:
    """Open loop of `call(pool, item)` straight through asyncpg, with PostgreSQL's CPU."""
    pool = await asyncpg.create_pool(
        asyncpg_dsn(url), min_size=DIRECT_POOL, max_size=DIRECT_POOL, reset=_keep_session
    )
    try:
        for item in items[:20]:
            await call(pool, item)
        wal = await _wal_position(url)
        before = CpuSnapshot.take(database)
        run = await open_loop(items[20:], rate, lambda item: call(pool, item))
        spent = CpuSnapshot.take(database).since(before)
        wal = await _wal_position(url) - wal
    finally:
        await pool.close()
    spent.pop("api_cpu_seconds")
    summary = run.summary()
    return {
        **summary,
        **spent,
        **cpu_per_request(spent, summary["requests"]),
        "wal_bytes_per_request": round(wal / max(1, summary["requests"])),
    }


async def _keep_session(connection: asyncpg.Connection) -> None:
    """asyncpg resets a connection given back to its pool with a statement of its own
    (`RESET ALL`, `UNLISTEN *`, ...): a second round trip per lookup that the API's pool does
    not make. The baseline's statements leave nothing to reset."""


# -- availability ----------------------------------------------------------------------------


async def _lookup(pool: LeanPool, query: dict[str, object]) -> None:
    status, body = await pool.request("GET", availability.lookup_target(query))
    if status != 200:
        raise RuntimeError(f"{status}: {body[:300]!r}")


async def availability_scenario(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(42)
    url = bench_database_url("omnistock_bench_availability")
    database = str(make_url(url).database)
    stores, skus, per_sku = 1000, 100_000, 20
    if not args.skip_seed:
        await availability.seed(url, stores, skus, per_sku, rng)
    peak_queries = availability.lookups(10_000, skus, rng)
    await availability.run_direct(url, peak_queries, DIRECT_POOL)  # warm the cache
    pids: list[int] = []
    with api_server(url, workers=2, extra_env=API_ENV, pids=pids) as base:
        peak: dict[str, Any] | None = None
        rate = args.availability_rate
        if not rate:
            peak = (await availability.run_http(base, peak_queries, PEAK_CONCURRENCY)).summary()
            rate = peak["per_second"] / 2
        rounds = []
        for _ in range(args.rounds):
            queries = availability.lookups(int(rate * args.seconds) + 20, skus, rng)
            direct = await _timed_direct(url, database, queries, rate, availability.direct_lookup)
            http = await _timed_http(
                base, pids[0], url, availability.SECRET, queries, rate, _lookup
            )
            rounds.append((http, direct))
    return _scenario_result(
        "availability", rate, peak, rounds, AVAILABILITY_P99_TARGET_MS, "lookup"
    )


# -- checkout --------------------------------------------------------------------------------


async def _order(pool: LeanPool, body: dict[str, Any]) -> None:
    status, answer = await pool.request(
        "POST", "/v1/orders", json.dumps(body).encode(), {"Idempotency-Key": str(uuid.uuid4())}
    )
    if status not in (201, 409):
        raise RuntimeError(f"{status}: {answer[:300]!r}")


async def _direct_order(pool: asyncpg.Pool, body: dict[str, Any]) -> None:
    """One order's statements as bench.checkout_storm's baseline issues them."""
    async with pool.acquire() as connection:
        try:
            await checkout_storm._direct_order(connection, body)
        except checkout_storm._Short:
            await checkout_storm._direct_refusal(connection, body)


def _orders(
    count: int, stocked: dict[int, list[int]], rng: random.Random, tag: str
) -> list[dict[str, Any]]:
    """Uniform orders, each by a customer of its own (`tag` keeps runs' customers apart,
    under the cap on a customer's open unpaid orders)."""
    bodies = checkout_storm.order_bodies(count, stocked, rng, hot=False)
    for i, body in enumerate(bodies):
        body["customer"] = {"email": f"{tag}-{i}@example.com"}
    return bodies


async def checkout_scenario(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(7)
    url = bench_database_url("omnistock_bench_checkout")
    database = str(make_url(url).database)
    stocked = await checkout_storm.seed(url, rng)
    pids: list[int] = []
    with api_server(url, workers=2, extra_env=API_ENV, pids=pids) as base:
        peak: dict[str, Any] | None = None
        rate = args.checkout_rate
        if not rate:
            latencies, _ = await checkout_storm.run_http(
                base, _orders(3000, stocked, rng, "peak"), PEAK_CONCURRENCY
            )
            peak = latencies.summary()
            rate = peak["per_second"] / 2
        rounds = []
        for r in range(args.rounds):
            count = int(rate * args.seconds) + 20
            direct = await _timed_direct(
                url, database, _orders(count, stocked, rng, f"direct{r}"), rate, _direct_order
            )
            http = await _timed_http(
                base,
                pids[0],
                url,
                checkout_storm.SECRET,
                _orders(count, stocked, rng, f"api{r}"),
                rate,
                _order,
            )
            rounds.append((http, direct))
    oversold = await checkout_storm.oversold_units(url)
    result = _scenario_result("checkout", rate, peak, rounds, CHECKOUT_P99_TARGET_MS, "order")
    result["oversold_units"] = oversold
    result["wal_bytes_per_order_alone"] = await _wal_of_single_orders(
        url, _orders(50, stocked, rng, "wal")
    )
    return result


async def _wal_of_single_orders(url: str, bodies: list[dict[str, Any]]) -> dict[str, int]:
    """WAL written by the transaction of each of a few orders (sent one at a time): the
    server's WAL position also moves with whatever else writes meanwhile, so the records are
    read back with pg_walinspect (PostgreSQL 15+) and only those of the order's transaction
    counted (full-page images included). {} where the extension cannot be had."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    sizes: list[tuple[int, int]] = []
    try:
        try:
            await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_walinspect")
        except asyncpg.PostgresError:
            return {}
        for body in bodies:
            before = await connection.fetchval("SELECT pg_current_wal_insert_lsn()")
            try:
                await checkout_storm._direct_order(connection, body)
            except checkout_storm._Short:
                continue
            # a commit is flushed before it returns: its records end before this
            after = await connection.fetchval("SELECT pg_current_wal_flush_lsn()")
            # the customer row is new: its xmin is the order's transaction
            xid = await connection.fetchval(
                "SELECT xmin::text::bigint FROM customers WHERE email = $1",
                body["customer"]["email"],
            )
            total, images = await connection.fetchrow(
                "SELECT coalesce(sum(record_length), 0), coalesce(sum(fpi_length), 0) "
                "FROM pg_get_wal_records_info($1, $2) WHERE xid::text::bigint = $3",
                before,
                after,
                xid,
            )
            sizes.append((int(total), int(total) - int(images)))
    finally:
        await connection.close()
    if not sizes:
        return {}
    totals = sorted(total for total, _ in sizes)
    records = sorted(bare for _, bare in sizes)
    return {
        "median": totals[len(totals) // 2],
        "max": totals[-1],
        "median_without_full_page_images": records[len(records) // 2],
        "orders": len(sizes),
    }


# -- report ----------------------------------------------------------------------------------


def _scenario_result(
    name: str,
    rate: float,
    peak: dict[str, Any] | None,
    rounds: list[tuple[dict[str, Any], dict[str, Any]]],
    target_ms: float,
    unit: str,
) -> dict[str, Any]:
    http, direct = rounds[-1]
    api_p99 = [h["p99_ms"] for h, _ in rounds]
    return {
        "scenario": name,
        "unit": unit,
        "closed_loop_peak": peak,
        "rate_per_second": round(rate, 1),
        "api_http": http,
        "direct_sql": direct,
        "api_p99_ms_by_round": api_p99,
        "api_p999_ms_by_round": [h["p999_ms"] for h, _ in rounds],
        "direct_p99_ms_by_round": [d["p99_ms"] for _, d in rounds],
        "p99_target_ms": target_ms,
        # the worst round decides: a target met only sometimes is not met
        "p99_target_met": max(api_p99) < target_ms,
        "cpu_ms_per_request": {
            "api_processes": _mean(rounds, 0, "api_cpu_ms_per_request"),
            "postgres_backends_via_api": _mean(rounds, 0, "postgres_backend_cpu_ms_per_request"),
            "postgres_backends_direct_sql": _mean(rounds, 1, "postgres_backend_cpu_ms_per_request"),
            "postgres_background_via_api": _mean(
                rounds, 0, "postgres_background_cpu_ms_per_request"
            ),
        },
        "wal_bytes_per_request": {
            "via_api": _mean(rounds, 0, "wal_bytes_per_request"),
            "direct_sql": _mean(rounds, 1, "wal_bytes_per_request"),
        },
    }


def _mean(rounds: list[tuple[dict[str, Any], dict[str, Any]]], side: int, key: str) -> float:
    values = [r[side][key] for r in rounds if key in r[side]]
    return round(statistics.fmean(values), 3) if values else 0.0


def _report(result: dict[str, Any]) -> None:
    name = result["scenario"]
    if result["closed_loop_peak"]:
        print_table(
            f"{name}: closed-loop peak, {PEAK_CONCURRENCY} clients (sets the rate)",
            [("API over HTTP (granian x2)", result["closed_loop_peak"])],
        )
    print_tail_table(
        f"{name}: open loop at {result['rate_per_second']}/s (latency from the due time)",
        [
            ("API over HTTP (granian x2)", result["api_http"]),
            ("same SQL straight via asyncpg", result["direct_sql"]),
        ],
    )
    cpu = result["cpu_ms_per_request"]
    print(
        f"API p99 by round: {result['api_p99_ms_by_round']} ms, p99.9 "
        f"{result['api_p999_ms_by_round']} ms; direct SQL p99 {result['direct_p99_ms_by_round']}"
        f" ms; target p99 < {result['p99_target_ms']} ms: "
        f"{'met' if result['p99_target_met'] else 'NOT met'}"
    )
    print(
        f"CPU per {result['unit']}: API processes {cpu['api_processes']} ms, PostgreSQL "
        f"backends {cpu['postgres_backends_via_api']} ms via the API, "
        f"{cpu['postgres_backends_direct_sql']} ms for the same SQL alone "
        f"(+ {cpu['postgres_background_via_api']} ms in shared background processes); "
        f"WAL {result['wal_bytes_per_request']['via_api']} bytes via the API, "
        f"{result['wal_bytes_per_request']['direct_sql']} for the same SQL (server-wide)"
    )
    if "wal_bytes_per_order_alone" in result:
        print(f"WAL of one order's transaction alone: {result['wal_bytes_per_order_alone']}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", choices=["availability", "checkout", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each open loop")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--availability-rate", type=float, default=0.0, help="skip the peak")
    parser.add_argument("--checkout-rate", type=float, default=0.0, help="skip the peak")
    parser.add_argument(
        "--skip-seed", action="store_true", help="reuse the availability database as seeded"
    )
    args = parser.parse_args()
    results = []
    if args.scenario in ("availability", "both"):
        results.append(await availability_scenario(args))
        _report(results[-1])
    if args.scenario in ("checkout", "both"):
        results.append(await checkout_scenario(args))
        _report(results[-1])
    path = write_result(
        "open_loop",
        {
            "benchmark": "open_loop",
            "seconds_per_run": args.seconds,
            "rounds": args.rounds,
            "scenarios": results,
        },
    )
    print(f"written {path}")


if __name__ == "__main__":
    asyncio.run(main())
