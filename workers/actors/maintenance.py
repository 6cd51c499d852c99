"""Housekeeping actors."""

from __future__ import annotations

from datetime import timedelta

import dramatiq
import structlog

from app.audit.auditing import audit_books as audit
from app.events.reading import purge_events as purge_old_events
from app.platform.maintenance import purge_idempotency_records as purge
from workers.runtime import current

log = structlog.get_logger("omnistock.worker")


@dramatiq.actor(queue_name="maintenance", max_retries=3, time_limit=120_000)
async def purge_idempotency_records() -> None:
    runtime = current()
    keep_for = timedelta(hours=runtime.settings.idempotency_ttl_hours)
    removed = await purge(runtime.context(), keep_for)
    log.info("idempotency records purged", removed=removed)


@dramatiq.actor(queue_name="maintenance", max_retries=3, time_limit=600_000)
async def purge_events() -> None:
    """Events older than EVENT_RETENTION_DAYS go, in batches."""
    runtime = current()
    removed = await purge_old_events(runtime.context(), runtime.settings.event_retention_days)
    log.info("events purged", removed=removed)


@dramatiq.actor(queue_name="maintenance", max_retries=0, time_limit=600_000)
async def audit_books() -> None:
    """The books' incremental audit (app/audit): advances the checkpoint, stores findings."""
    runtime = current()
    view = await audit(
        runtime.context(),
        None,
        retention_days=runtime.settings.event_retention_days,
        actor="audit job",
    )
    log.info(
        "books audited",
        examined=view.run.levels_examined,
        findings_open=len(view.open_findings),
        checkpoint=view.run.checkpoint_id,
    )
    if view.open_findings:
        log.warning("the books disagree", findings_open=len(view.open_findings))
