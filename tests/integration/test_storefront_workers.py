"""The sync actors run by real Dramatiq workers: in process (no Redis) through the
scheduler's fan-out, and over Redis when TEST_REDIS_URL names one (CI sets it)."""

from __future__ import annotations

import asyncio
import os
import uuid

import dramatiq
import pytest

from app.config import Settings
from app.platform.database import Database
from shopify_emulator import RunningEmulator
from tests.support.shopify import connect_shop
from workers import runtime


@pytest.fixture
def worker_env(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Actors find the database through the environment, as in a worker process."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setitem(runtime._runtimes, "current", runtime.WorkerRuntime(Settings.from_env()))


@pytest.mark.usefixtures("worker_env")
async def test_in_process_workers_run_the_scheduled_flush(
    db: Database, emulator: RunningEmulator
) -> None:
    from workers.actors import broker
    from workers.actors import storefronts as sync_actors
    from workers.scheduler import periodic_jobs

    jobs = periodic_jobs(broker, Settings.from_env())
    assert "flush_due_storefronts" in [job.name for job in jobs]
    shop = await connect_shop(db, emulator, sku_count=50)
    await shop.count("STORE-A", [(sku, 5) for sku in shop.skus])

    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        sync_actors.flush_due_storefronts.send()  # what the scheduler does every second
        await asyncio.to_thread(broker.join, sync_actors.QUEUE, fail_fast=True, timeout=20_000)
        await asyncio.to_thread(worker.join)
    finally:
        worker.stop()

    await shop.assert_in_step()
    assert await shop.pending() == 0


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL is not set")
@pytest.mark.usefixtures("worker_env")
async def test_a_dramatiq_worker_over_redis_runs_the_flush_actor(
    db: Database, emulator: RunningEmulator
) -> None:
    from workers.actors import storefronts as sync_actors
    from workers.broker import build_broker

    redis_broker = build_broker(os.environ["TEST_REDIS_URL"])
    suffix = uuid.uuid4().hex[:8]
    queue = f"storefronts-test-{suffix}"  # private to this run: other users of Redis unharmed
    flush = dramatiq.actor(
        sync_actors.flush_storefront.fn,
        broker=redis_broker,
        actor_name=f"flush_storefront_{suffix}",
        queue_name=queue,
        max_retries=0,
    )
    shop = await connect_shop(db, emulator, sku_count=300)
    await shop.count("WH-1", [(sku, 9) for sku in shop.skus])

    worker = dramatiq.Worker(redis_broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        flush.send(str(shop.storefront_id))
        await asyncio.to_thread(redis_broker.join, queue, timeout=30_000)
        await asyncio.to_thread(worker.join)
    finally:
        worker.stop()
        redis_broker.flush(queue)
        redis_broker.close()

    await shop.assert_in_step()
    assert shop.mutations == 3  # 600 levels
