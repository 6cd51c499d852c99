"""Actors of the storefront sync (Shopify): thin wrappers over app/services/storefronts.py.

`flush_due_storefronts` runs every `STOREFRONT_FLUSH_SECONDS` (1 s) and fans out one
`flush_storefront` message per storefront with pending levels, so N worker processes share
the storefronts; a lease on the storefront row keeps two of them from pushing the same one.
"""

from __future__ import annotations

import uuid

import dramatiq
import structlog

import workers.broker  # noqa: F401  (installs the broker before the actors bind to it)
from app.services import storefronts
from app.services.storefronts import SyncConfig
from workers.runtime import database, settings

log = structlog.get_logger("omnistock.worker.sync")

QUEUE = "storefronts"


def _config() -> SyncConfig:
    return SyncConfig.from_settings(settings())


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=60_000)
async def flush_due_storefronts() -> None:
    for storefront_id in await storefronts.storefronts_due(database()):
        flush_storefront.send(str(storefront_id))


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=180_000)
async def flush_storefront(storefront_id: str) -> None:
    """No Dramatiq retries: the levels stay pending and the next tick pushes them."""
    report = await storefronts.push_pending_levels(database(), uuid.UUID(storefront_id), _config())
    if report.pushed or report.errors:
        log.info(
            "storefront flushed",
            storefront=storefront_id,
            pushed=report.pushed,
            calls=report.calls,
            throttled=report.throttled,
            errors=report.errors[:3],
        )


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=600_000)
async def reconcile_storefronts() -> None:
    """Webhooks can be lost; reading Shopify back now and then catches any drift."""
    db = database()
    for storefront_id in await storefronts.all_storefront_ids(db):
        try:
            report = await storefronts.reconcile_storefront(db, None, storefront_id, _config())
        except storefronts.ShopifyUnreachable as error:
            log.warning("reconcile skipped", storefront=str(storefront_id), error=error.message)
            continue
        log.info(
            "storefront reconciled",
            storefront=str(storefront_id),
            checked=report.checked,
            drifted=len(report.drifted),
            repaired=report.repaired,
        )


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=120_000)
async def process_stored_webhooks() -> None:
    """Webhooks stored but not yet acted on (a crash, or orders waiting for their service)."""
    await storefronts.process_pending_webhooks(database(), _config())


PERIODIC: list[tuple[str, float, object]] = [
    ("flush_due_storefronts", settings().storefront_flush_seconds, flush_due_storefronts),
    ("process_stored_webhooks", 30.0, process_stored_webhooks),
    ("reconcile_storefronts", 900.0, reconcile_storefronts),
]
"""(name, every_seconds, actor) the scheduler enqueues."""
