"""Enqueues the periodic jobs. Any number of schedulers may run: with Redis, each slot of
each job is claimed with SET NX, so a job is enqueued once per interval whatever the count."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import dramatiq
import redis
import structlog

from app.config import Settings
from workers.schedule import intervals

log = structlog.get_logger("omnistock.scheduler")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every_seconds: float
    enqueue: Callable[[], object]


def periodic_jobs(broker: dramatiq.Broker, settings: Settings) -> list[PeriodicJob]:
    """Each job of `workers/schedule.py`, enqueued through its actor on `broker`."""
    return [
        PeriodicJob(name, every, broker.get_actor(name).send)
        for name, every in intervals(settings).items()
    ]


class Scheduler:
    def __init__(
        self, jobs: list[PeriodicJob], redis_url: str | None, tick_seconds: float = 1.0
    ) -> None:
        self.jobs = jobs
        self.tick_seconds = tick_seconds
        self._redis = redis.Redis.from_url(redis_url) if redis_url else None
        self._last_slot: dict[str, int] = {}
        self._stop = threading.Event()

    def run_pending(self, now: float | None = None) -> list[str]:
        """Enqueue every job whose interval has come round; returns the names enqueued."""
        now = time.time() if now is None else now
        enqueued = []
        for job in self.jobs:
            slot = int(now // job.every_seconds)
            if self._last_slot.get(job.name) == slot:
                continue
            self._last_slot[job.name] = slot
            if self._redis is not None and not self._redis.set(
                f"omnistock:schedule:{job.name}:{slot}",
                "1",
                nx=True,
                ex=max(1, int(job.every_seconds * 2)),
            ):
                continue  # another scheduler took this slot
            job.enqueue()
            enqueued.append(job.name)
        return enqueued

    def run_forever(self) -> None:
        log.info("scheduler started", jobs=[job.name for job in self.jobs])
        while not self._stop.wait(self.tick_seconds):
            try:
                self.run_pending()
            except Exception:  # a broker hiccup must not kill the scheduler
                log.exception("scheduling failed; retrying next tick")

    def stop(self) -> None:
        self._stop.set()


class ScheduleInWorkers(dramatiq.Middleware):
    """Every worker process also runs the schedule, so a deployment of the API and workers is
    whole (`omnistock scheduler` is optional). Any number may run: each slot is claimed in
    Redis, so a job is enqueued once per interval."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._scheduler: Scheduler | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: object) -> None:
        self._scheduler = Scheduler(periodic_jobs(broker, self._settings), self._settings.redis_url)
        threading.Thread(
            target=self._scheduler.run_forever, name="omnistock-scheduler", daemon=True
        ).start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: object) -> None:
        if self._scheduler is not None:
            self._scheduler.stop()
