"""Dramatiq actors: thin wrappers that call one service use case each.

Retries, time limits and backoff come from Dramatiq's middleware."""

from __future__ import annotations

from datetime import timedelta

import dramatiq
import structlog

import workers.broker  # installs the broker before the actors bind to it
from app.services import maintenance, notifications, orders, pos
from app.wiring import notification_sender, order_context
from workers.runtime import database, settings

log = structlog.get_logger("omnistock.worker")


@dramatiq.actor(queue_name="maintenance", max_retries=3, time_limit=120_000)
async def purge_idempotency_records() -> None:
    keep_for = timedelta(hours=settings().idempotency_ttl_hours)
    removed = await maintenance.purge_idempotency_records(database().unit_of_work(), keep_for)
    log.info("idempotency records purged", removed=removed)


@dramatiq.actor(queue_name="orders", max_retries=3, time_limit=300_000)
async def expire_orders() -> None:
    """Unpaid and uncollected orders give their stock and authorisation back."""
    expired = await orders.expire_due_orders(order_context(database(), settings()))
    if expired:
        log.info("orders expired", count=expired)


@dramatiq.actor(queue_name="orders", max_retries=3, time_limit=300_000)
async def run_payment_actions() -> None:
    """Owed cancels and refunds that could not be carried out at once."""
    await orders.run_payment_actions(order_context(database(), settings()), None)


@dramatiq.actor(queue_name="notifications", max_retries=3, time_limit=300_000)
async def send_notifications() -> None:
    await notifications.send_pending(database().unit_of_work, notification_sender(settings()))


@dramatiq.actor(queue_name="orders", max_retries=3, time_limit=300_000)
async def resolve_shortages() -> None:
    """Safety net for counter sales whose follow-up was interrupted: every level with fewer
    units on hand than promised gets its orders flagged or re-sourced."""
    ctx = order_context(database(), settings())
    for location_id, sku_id in await pos.short_levels(ctx):
        await pos.resolve_shortage(ctx, location_id, sku_id)


# The storefront sync actors live in their own module; import them so `dramatiq workers.actors`
# declares every actor.
import workers.sync_actors  # noqa: E402, F401
