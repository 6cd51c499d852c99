"""The in-process broker runs the real actors; the scheduler enqueues each job once a slot."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from app.config import Settings
from app.platform.database import Database
from app.platform.idempotency.store import IdempotencyRecord
from app.platform.tables import utcnow
from workers.scheduler import PeriodicJob, Scheduler


async def test_purge_job_forgets_only_expired_idempotency_keys(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dramatiq

    from workers import runtime
    from workers.actors import broker, maintenance

    async with db.sessionmaker() as session, session.begin():
        await session.execute(
            insert(IdempotencyRecord),
            [
                {
                    "scope": "k",
                    "key": "old",
                    "request_hash": "h",
                    "state": "completed",
                    "created_at": utcnow() - timedelta(hours=30),
                },
                {
                    "scope": "k",
                    "key": "new",
                    "request_hash": "h",
                    "state": "completed",
                    "created_at": utcnow() - timedelta(hours=1),
                },
            ],
        )
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setitem(runtime._runtimes, "current", runtime.WorkerRuntime(Settings.from_env()))

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        maintenance.purge_idempotency_records.send()
        await asyncio.to_thread(
            broker.join,
            maintenance.purge_idempotency_records.queue_name,
            fail_fast=True,
            timeout=20_000,
        )
        await asyncio.to_thread(worker.join)
    finally:
        worker.stop()

    async with db.sessionmaker() as session:
        keys = list((await session.execute(select(IdempotencyRecord.key))).scalars())
        assert keys == ["new"]
        assert (
            await session.execute(select(func.count()).select_from(IdempotencyRecord))
        ).scalar_one() == 1


def test_scheduler_enqueues_each_job_once_per_interval() -> None:
    calls: list[str] = []
    scheduler = Scheduler(
        [
            PeriodicJob("a", 60, lambda: calls.append("a")),
            PeriodicJob("b", 10, lambda: calls.append("b")),
        ],
        redis_url=None,
    )
    assert scheduler.run_pending(now=1000.0) == ["a", "b"]
    assert scheduler.run_pending(now=1005.0) == []
    assert scheduler.run_pending(now=1011.0) == ["b"]
    assert scheduler.run_pending(now=1081.0) == ["a", "b"]
    assert calls == ["a", "b", "b", "a", "b"]
