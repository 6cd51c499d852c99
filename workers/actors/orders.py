"""Order actors: thin wrappers that call one use case each.

Retries, time limits and backoff come from Dramatiq's middleware."""

from __future__ import annotations

import dramatiq
import structlog

from app.orders import closing, notifications, payment_actions
from app.pos import shortages
from workers.runtime import current

log = structlog.get_logger("omnistock.worker")


@dramatiq.actor(queue_name="orders", max_retries=3, time_limit=300_000)
async def expire_orders() -> None:
    """Unpaid and uncollected orders give their stock and authorisation back."""
    expired = await closing.expire_due_orders(current().context())
    if expired:
        log.info("orders expired", count=expired)


@dramatiq.actor(queue_name="orders", max_retries=3, time_limit=300_000)
async def run_payment_actions() -> None:
    """Owed cancels and refunds that could not be carried out at once."""
    await payment_actions.run_payment_actions(current().context(), None)


@dramatiq.actor(queue_name="notifications", max_retries=3, time_limit=300_000)
async def send_notifications() -> None:
    await notifications.send_pending(current().context())


@dramatiq.actor(queue_name="orders", max_retries=3, time_limit=300_000)
async def resolve_shortages() -> None:
    """Safety net for counter sales whose follow-up was interrupted: every level with fewer
    units on hand than promised gets its orders flagged or re-sourced."""
    ctx = current().context()
    for location_id, sku_id in await shortages.short_levels(ctx):
        await shortages.resolve_shortage(ctx, location_id, sku_id)
