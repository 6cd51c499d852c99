"""Shared pieces of the benchmarks: a throwaway PostgreSQL database, a production-like API
server, latency statistics and result files."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.access.keys import hash_key
from app.platform import migrate

RESULTS = Path(__file__).parent / "results"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def bench_database_url(name: str) -> str:
    """The benchmark's own database on BENCH_DATABASE_URL's server; BENCH_DB_SUFFIX keeps two
    benchmarks that seed the same database name apart when they run at once."""
    base = os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG)
    name += os.environ.get("BENCH_DB_SUFFIX", "")
    return make_url(base).set(database=name).render_as_string(hide_password=False)


async def recreate_database(url: str) -> None:
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    name = make_url(url).database
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        await connection.execute(text(f"CREATE DATABASE {name}"))
    await engine.dispose()
    await asyncio.to_thread(migrate.upgrade, url)


async def copy_opening_stock(connection: Any, stock: list[tuple[int, int, int, int]]) -> None:
    """Bulk-load levels (sku_id, location_id, on_hand, safety_stock) with one receipt
    movement each, so the ledger still projects to the levels."""
    now = datetime.now(UTC)
    await connection.copy_records_to_table(
        "stock_levels",
        columns=[
            "sku_id",
            "location_id",
            "on_hand",
            "reserved",
            "safety_stock",
            "incoming",
            "version",
            "updated_at",
        ],
        records=[(s, loc, on_hand, 0, safety, 0, 1, now) for s, loc, on_hand, safety in stock],
    )
    await connection.copy_records_to_table(
        "stock_movements",
        columns=[
            "sku_id",
            "location_id",
            "kind",
            "on_hand_delta",
            "reserved_delta",
            "safety_stock_delta",
            "incoming_delta",
            "channel",
            "reference",
            "actor",
            "created_at",
        ],
        records=[
            (s, loc, "receipt", on_hand, 0, safety, 0, "admin", "bench:seed", "bench", now)
            for s, loc, on_hand, safety in stock
        ],
    )


async def settle(connection: Any) -> None:
    """After a bulk load: statistics, hint bits and the visibility map written, dirty pages
    flushed, so neither timed run pays for the load (autovacuum or a checkpoint firing
    during one run but not the other made rounds differ by half)."""
    await connection.execute("VACUUM ANALYZE")
    with suppress(asyncpg.InsufficientPrivilegeError):  # not a superuser: it comes when it comes
        await connection.execute("CHECKPOINT")


async def add_api_key(connection: Any, role: str, secret: str) -> None:
    await connection.execute(
        "INSERT INTO api_keys (id, name, role, key_hash, prefix, created_at) "
        "VALUES (gen_random_uuid(), 'bench', $1, $2, 'osk_bench', now())",
        role,
        hash_key(secret),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def api_server(
    database_url: str, workers: int = 2, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """The API as deployed (`omnistock serve`, granian) with `workers` processes on loopback;
    `extra_env` adds settings (REDIS_URL among them: without it the API runs without Redis)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "OMNISTOCK_SECRET_KEY": os.environ.get("OMNISTOCK_SECRET_KEY") or "bench-secret",
        "IN_PROCESS_WORKERS": "0",
        "LOG_LEVEL": "WARNING",
        "PAYMENTS": "at_counter",  # no Stripe: web pickup orders are paid when collected
    }
    env.pop("REDIS_URL", None)
    env.update(extra_env or {})
    command = [
        str(Path(sys.executable).with_name("omnistock")),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    # A file, not a pipe nobody reads: warnings under load would fill a pipe and stall the API.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            try:
                _wait_for_every_worker(base, workers)
            except RuntimeError:
                log.seek(0)
                sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
                raise
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for_every_worker(base: str, workers: int, seconds: float = 120) -> None:
    """Ready, and every worker process answering: load that starts while one worker is
    still importing the app lands all its keep-alive connections on the other for the whole
    run (seen here: 32 connections to one worker, 0 to the other, a third less throughput)."""
    seen: set[int] = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                seen.add(httpx.get(f"{base}/health/live", timeout=1).json()["process"])
                if len(seen) >= workers:
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{len(seen)} of {workers} API workers answered")


@dataclass
class Latencies:
    seconds: list[float]
    wall: float

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.seconds)

        def pct(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

        return {
            "requests": len(ordered),
            "per_second": round(len(ordered) / self.wall, 1),
            "p50_ms": round(pct(0.50), 3),
            "p95_ms": round(pct(0.95), 3),
            "p99_ms": round(pct(0.99), 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
        }


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2))
    return path


def print_table(title: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    print(f"\n{title}")
    keys = ["per_second", "p50_ms", "p95_ms", "p99_ms", "requests"]
    print(f"{'':<34}" + "".join(f"{k:>12}" for k in keys))
    for label, values in rows:
        print(f"{label:<34}" + "".join(f"{values.get(k, ''):>12}" for k in keys))


class LeanHttpClient:
    """A minimal HTTP/1.1 keep-alive client for load generation: one connection per
    concurrent client, requests written as bytes, responses read by Content-Length. It costs
    a fraction of a general-purpose client's CPU, which on a small machine is CPU taken
    from the server being measured."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        host_port = base_url.removeprefix("http://").rstrip("/")
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())

    async def connect(self) -> LeanConnection:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return LeanConnection(reader, writer, self)


class LeanConnection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, client: LeanHttpClient
    ) -> None:
        self.reader, self.writer, self.client = reader, writer, client

    async def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {self.client.host}\r\n"
            f"{self.client.headers}{extra}"
        )
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


class LeanPool:
    """`size` keep-alive connections handed out one request at a time."""

    def __init__(self, base_url: str, headers: dict[str, str], size: int) -> None:
        self.client = LeanHttpClient(base_url, headers)
        self.size = size
        self.free: asyncio.Queue[LeanConnection] = asyncio.Queue()
        self.connections: list[LeanConnection] = []

    async def __aenter__(self) -> LeanPool:
        for _ in range(self.size):
            connection = await self.client.connect()
            self.connections.append(connection)
            self.free.put_nowait(connection)
        return self

    async def __aexit__(self, *_: object) -> None:
        for connection in self.connections:
            await connection.close()

    async def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        connection = await self.free.get()
        try:
            return await connection.request(method, target, body, headers)
        finally:
            self.free.put_nowait(connection)
