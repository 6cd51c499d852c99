"""Actors of the storefront sync (Shopify): thin wrappers over app/storefronts/.

`flush_due_storefronts` runs every `STOREFRONT_FLUSH_SECONDS` (1 s) and fans out one
`flush_storefront` message per storefront with pending levels, so N worker processes share
the storefronts; a lease on the storefront row keeps two of them from pushing the same one.
"""

from __future__ import annotations

import uuid

import dramatiq
import structlog

from app.storefronts import order_sweep, ports, push, reconcile, webhooks
from workers.runtime import current

log = structlog.get_logger("omnistock.worker.sync")

QUEUE = "storefronts"


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=60_000)
async def flush_due_storefronts() -> None:
    for storefront_id in await push.storefronts_due(current().context()):
        flush_storefront.send(str(storefront_id))


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=180_000)
async def flush_storefront(storefront_id: str) -> None:
    """No Dramatiq retries: the levels stay pending and the next tick pushes them. A
    storefront pushed less than a flush interval ago is left for a later tick, so queued
    messages and extra workers do not multiply the pushes."""
    ctx = current().context()
    report = await push.push_pending_levels(
        ctx, uuid.UUID(storefront_id), coalesce_seconds=ctx.sync.flush_interval_seconds
    )
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
    ctx = current().context()
    for storefront_id in await push.all_storefront_ids(ctx):
        try:
            report = await reconcile.reconcile_storefront(ctx, None, storefront_id)
        except ports.ShopifyUnreachable as error:
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
    await webhooks.process_pending_webhooks(current().context())


@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=600_000)
async def sweep_shopify_orders() -> None:
    """Orders updated in Shopify since the last sweep, applied like webhooks: a lost order
    webhook changes nothing (every SHOPIFY_ORDER_SWEEP_SECONDS, 10 minutes by default)."""
    ctx = current().context()
    for storefront_id in await push.all_storefront_ids(ctx):
        try:
            report = await order_sweep.sweep_orders(ctx, storefront_id)
        except ports.ShopifyUnreachable as error:
            log.warning("order sweep skipped", storefront=str(storefront_id), error=error.message)
            continue
        if report.read:
            log.info(
                "shopify orders swept",
                storefront=str(storefront_id),
                read=report.read,
                applied=report.applied,
                failed=report.failed,
            )
