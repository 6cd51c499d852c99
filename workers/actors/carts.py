"""Cart actors: thin wrappers that call one use case each."""

from __future__ import annotations

import dramatiq
import structlog

from app.carts import holding
from workers.runtime import current

log = structlog.get_logger("omnistock.worker")


@dramatiq.actor(queue_name="orders", max_retries=3, time_limit=300_000)
async def expire_cart_holds() -> None:
    """Holds that ran out give their units back to the store (and so to every channel)."""
    released = await holding.expire_due_holds(current().context())
    if released:
        log.info("cart holds released", count=released)
