"""Dramatiq actors: thin wrappers that call one service use case each.

Retries, time limits and backoff come from Dramatiq's middleware."""

from __future__ import annotations

from datetime import timedelta

import dramatiq
import structlog

import workers.broker  # noqa: F401  (installs the broker before the actors bind to it)
from app.services import maintenance
from workers.runtime import database, settings

log = structlog.get_logger("omnistock.worker")


@dramatiq.actor(queue_name="maintenance", max_retries=3, time_limit=120_000)
async def purge_idempotency_records() -> None:
    keep_for = timedelta(hours=settings().idempotency_ttl_hours)
    removed = await maintenance.purge_idempotency_records(database().unit_of_work(), keep_for)
    log.info("idempotency records purged", removed=removed)
