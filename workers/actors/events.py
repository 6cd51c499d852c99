"""Actors of outgoing webhooks: thin wrappers over app/events/webhook_delivery.py.

`deliver_webhooks` runs every `WEBHOOK_DELIVER_SECONDS` (1 s) and fans out one
`deliver_endpoint` message per endpoint with events due, so N worker processes share the
endpoints; a lease on the endpoint's row keeps two of them from delivering to the same one.
"""

from __future__ import annotations

import uuid

import dramatiq
import structlog

from app.events import webhook_delivery
from workers.runtime import current

log = structlog.get_logger("omnistock.worker.webhooks")

QUEUE = "webhooks"


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=60_000)
async def deliver_webhooks() -> None:
    for endpoint_id in await webhook_delivery.endpoints_due(current().context()):
        deliver_endpoint.send(str(endpoint_id))


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=180_000, max_age=10_000)
async def deliver_endpoint(endpoint_id: str) -> None:
    """No Dramatiq retries: the cursor has not moved, so the next tick delivers again. A
    message that waited over 10 s in a busy queue is dropped (`max_age`): every tick sends a
    fresh one, so stale ones must not pile up."""
    report = await webhook_delivery.deliver_endpoint(current().context(), uuid.UUID(endpoint_id))
    if report.delivered or report.failed:
        log.info(
            "webhooks delivered",
            endpoint=endpoint_id,
            delivered=report.delivered,
            failed=report.failed,
            error=report.error,
        )


@dramatiq.actor(queue_name="maintenance", max_retries=3, time_limit=600_000)
async def purge_webhook_deliveries() -> None:
    """The delivery log is kept as long as the events (EVENT_RETENTION_DAYS)."""
    runtime = current()
    removed = await webhook_delivery.purge_deliveries(
        runtime.context(), runtime.settings.event_retention_days
    )
    log.info("webhook deliveries purged", removed=removed)
