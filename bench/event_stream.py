"""The live stream's fan-out: 1,000 open `GET /v1/stream` connections on one API process
(`omnistock serve`, granian, one worker, Redis wake-ups), and the time from a commit to the
moment the last of them has its event, against a bare Redis publish -> subscribe round trip
measured in the same run (to one subscriber, and to 1,000).

Each round commits one stock receipt the way a worker process does (the use case, through the
event log, its wake-up published on Redis), takes the time as the commit returns, and waits
until every stream has sent the event's `id:` line. The readers are asyncio sockets in this
process, so a receipt is counted when this process has read it: the last of 1,000 includes
the reading of the 999 before it, as the Redis fan-out row does with the same readers.

    python -m bench.event_stream [--streams 1000 --rounds 100]

PostgreSQL from BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres;
a database `omnistock_bench_stream` is created); a private `redis-server` on a free port, or
BENCH_REDIS_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import redis.asyncio

from app.access.keys import create_api_key
from app.bootstrap import AppContext, build_context, event_signal
from app.config import Settings
from app.events.log_repository import EventLog
from app.inventory import catalogue, movements
from app.inventory.catalogue import NewLocation, SkuData
from app.inventory.rules import MovementKind
from app.platform.access import Principal, Role
from app.platform.database import Database
from bench.common import (
    Latencies,
    api_server,
    bench_database_url,
    free_port,
    print_table,
    recreate_database,
    write_result,
)

ADMIN = Principal(key_id="bench", name="bench", role=Role.ADMIN)
WAIT_SECONDS = 30.0
CHANNEL = "bench:round-trip"


@contextmanager
def private_redis() -> Iterator[str]:
    """BENCH_REDIS_URL, or a redis-server of this run's own (never the shared one)."""
    if os.environ.get("BENCH_REDIS_URL"):
        yield os.environ["BENCH_REDIS_URL"]
        return
    if shutil.which("redis-server") is None:
        raise SystemExit("needs redis-server on PATH, or BENCH_REDIS_URL")
    port = free_port()
    process = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no"),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@dataclass
class Arrivals:
    """When each numbered message reached how many readers: the first and the last time."""

    count: dict[int, int] = field(default_factory=dict)
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def saw(self, number: int) -> None:
        now = time.perf_counter()
        self.count[number] = self.count.get(number, 0) + 1
        self.first.setdefault(number, now)
        self.last[number] = now
        self.changed.set()

    async def all_of(self, number: int, readers: int) -> None:
        async with asyncio.timeout(WAIT_SECONDS):
            while self.count.get(number, 0) < readers:
                self.changed.clear()
                await self.changed.wait()


# Streams -----------------------------------------------------------------------------------
async def open_stream(base: str, secret: str, arrivals: Arrivals, live: asyncio.Event) -> None:
    """One `GET /v1/stream`, read line by line for `id:` lines until cancelled."""
    host, _, port = base.removeprefix("http://").partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET /v1/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {secret}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream refused: {status!r} {await reader.read(500)!r}")
    try:
        while True:
            line = await reader.readline()
            if not line:
                raise RuntimeError("a stream ended")
            if line.startswith(b"id: "):
                arrivals.saw(int(line[4:]))
            elif line.startswith(b": live"):
                live.set()
    finally:
        writer.close()


async def stream_rounds(
    base: str, secret: str, ctx: AppContext, streams: int, rounds: int
) -> tuple[Latencies, Latencies]:
    arrivals = Arrivals()
    ready: list[asyncio.Event] = []
    tasks = []
    for start in range(0, streams, 50):  # not all at once: each is a request to the API
        batch = [asyncio.Event() for _ in range(min(50, streams - start))]
        tasks += [asyncio.create_task(open_stream(base, secret, arrivals, e)) for e in batch]
        ready += batch
        async with asyncio.timeout(WAIT_SECONDS):
            await asyncio.gather(*(e.wait() for e in batch))
    last, first = [], []
    wall = time.perf_counter()
    try:
        for n in range(rounds + 1):
            await movements.record_movement(
                ctx, ADMIN, location="STORE-1", sku="SKU-1", kind=MovementKind.RECEIPT, quantity=1
            )
            committed = time.perf_counter()
            async with ctx.uow(readonly=True) as uow:
                seq = await EventLog.of(uow).head()
            await arrivals.all_of(seq, streams)
            if n:  # the first round warms the connection pools
                last.append(arrivals.last[seq] - committed)
                first.append(arrivals.first[seq] - committed)
            await asyncio.sleep(0.02)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    wall = time.perf_counter() - wall
    return Latencies(last, wall), Latencies(first, wall)


# Bare Redis --------------------------------------------------------------------------------
async def subscriber(host: str, port: int, arrivals: Arrivals, ready: asyncio.Event) -> None:
    """A raw RESP subscriber to CHANNEL: messages are `r<number>`."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"SUBSCRIBE {CHANNEL}\r\n".encode())
    try:
        while True:
            line = await reader.readline()
            if not line:
                raise RuntimeError("redis closed a subscriber")
            if line.startswith(b":1"):
                ready.set()  # the subscription count: subscribed
            elif line.startswith(b"r") and line[1:-2].isdigit():
                arrivals.saw(int(line[1:-2]))
    finally:
        writer.close()


async def redis_rounds(redis_url: str, subscribers: int, rounds: int) -> Latencies:
    client = redis.asyncio.Redis.from_url(redis_url)
    host = client.connection_pool.connection_kwargs.get("host", "127.0.0.1")
    port = int(client.connection_pool.connection_kwargs.get("port", 6379))
    arrivals = Arrivals()
    ready = [asyncio.Event() for _ in range(subscribers)]
    tasks = [asyncio.create_task(subscriber(host, port, arrivals, e)) for e in ready]
    times = []
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            await asyncio.gather(*(e.wait() for e in ready))
        wall = time.perf_counter()
        for n in range(rounds + 1):
            published = time.perf_counter()
            await client.publish(CHANNEL, f"r{n}")
            await arrivals.all_of(n, subscribers)
            if n:
                times.append(arrivals.last[n] - published)
            await asyncio.sleep(0.02)
        wall = time.perf_counter() - wall
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await client.aclose()
    return Latencies(times, wall)


# The run -----------------------------------------------------------------------------------
async def seed(ctx: AppContext) -> str:
    await catalogue.create_location(
        ctx, ADMIN, NewLocation("STORE-1", "Store", "store", 51.5, -0.1, True, False, 0)
    )
    await catalogue.create_sku(ctx, ADMIN, SkuData("SKU-1", "Tee", 1000, "GBP"))
    issued = await create_api_key(ctx, None, name="bench-stream", role=Role.READONLY)
    return issued.secret


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    url = bench_database_url("omnistock_bench_stream")
    await recreate_database(url)
    with private_redis() as redis_url:
        settings = replace(Settings.from_env(), database_url=url, redis_url=redis_url)
        db = Database(url, pool_size=4)
        ctx = build_context(settings, db, event_signal=event_signal(settings))
        secret = await seed(ctx)
        env = {"REDIS_URL": redis_url, "STREAM_MAX_PER_KEY": str(args.streams)}
        with api_server(url, workers=1, extra_env=env) as base:
            last, first = await stream_rounds(base, secret, ctx, args.streams, args.rounds)
        one = await redis_rounds(redis_url, 1, args.rounds)
        many = await redis_rounds(redis_url, args.streams, args.rounds)
        await db.dispose()
    rows = [
        (f"stream: commit -> last of {args.streams}", last.summary()),
        (f"stream: commit -> first of {args.streams}", first.summary()),
        ("redis: publish -> 1 subscriber", one.summary()),
        (f"redis: publish -> last of {args.streams}", many.summary()),
    ]
    print_table(
        f"GET /v1/stream: {args.streams} open streams on one API process, {args.rounds} commits",
        rows,
    )
    result = {
        "benchmark": "event_stream",
        "streams": args.streams,
        "rounds": args.rounds,
        "commit_to_last_stream": last.summary(),
        "commit_to_first_stream": first.summary(),
        "redis_publish_to_subscriber": one.summary(),
        "redis_publish_to_last_of_many": many.summary(),
        "last_stream_p50_over_redis_round_trip_p50": round(
            last.summary()["p50_ms"] / max(one.summary()["p50_ms"], 1e-9), 1
        ),
    }
    print(
        f"commit -> last stream p50 {result['commit_to_last_stream']['p50_ms']} ms, "
        f"p99 {result['commit_to_last_stream']['p99_ms']} ms; "
        f"bare Redis round trip p50 {result['redis_publish_to_subscriber']['p50_ms']} ms"
    )
    print(f"written {write_result('event_stream', result)}")


if __name__ == "__main__":
    asyncio.run(main())
