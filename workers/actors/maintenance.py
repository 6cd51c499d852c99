"""Housekeeping actors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dramatiq
import structlog

from app.audit.auditing import audit_books as audit
from app.events.reading import purge_events as purge_old_events
from app.inventory.archive import ArchivePlan, keep_ledger_bounded
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
    await _audit(full=False)


@dramatiq.actor(queue_name="maintenance", max_retries=0, time_limit=3_600_000)
async def audit_books_in_full() -> None:
    """Daily, the whole ledger: finds what the incremental runs cannot see (a level written
    outside the ledger, with no movement in their window)."""
    await _audit(full=True)


async def _audit(*, full: bool) -> None:
    runtime = current()
    view = await audit(
        runtime.context(),
        None,
        full=full,
        retention_days=runtime.settings.event_retention_days,
        actor="audit job",
    )
    log.info(
        "books audited",
        full=full,
        examined=view.run.levels_examined,
        findings_open=len(view.open_findings),
        checkpoint=view.run.checkpoint_id,
    )
    if view.open_findings:
        log.warning("the books disagree", findings_open=len(view.open_findings))


@dramatiq.actor(queue_name="maintenance", max_retries=3, time_limit=3_600_000)
async def keep_movements_bounded() -> None:
    """PostgreSQL: the months of stock movements ahead are created, the months older than
    MOVEMENT_ARCHIVE_MONTHS archived with their totals kept (app/inventory/archive.py)."""
    runtime = current()
    settings = runtime.settings
    plan = ArchivePlan(
        keep_months=settings.movement_archive_months,
        mode=settings.ledger_archive,
        directory=Path(settings.archive_dir) if settings.archive_dir else None,
    )
    upkeep = await keep_ledger_bounded(runtime.context(), plan)
    log.info(
        "movement partitions kept",
        created=upkeep.created,
        archived=upkeep.archived,
        written=len(upkeep.written),
        default_rows=upkeep.default_rows,
    )
