"""Sync-lag and pending gauges."""

from __future__ import annotations

import uuid

from prometheus_client import Gauge

from app.platform.tables import utcnow
from app.storefronts.config import StorefrontContext
from app.storefronts.repository import StorefrontRepository
from app.storefronts.rules import (
    sync_lag_seconds,
)

SYNC_LAG = Gauge(
    "omnistock_storefront_sync_lag_seconds",
    "Age of the oldest stock change not yet on the storefront (0 when in step).",
    ["storefront"],
)

PENDING = Gauge(
    "omnistock_storefront_pending",
    "Levels waiting to be pushed to the storefront.",
    ["storefront"],
)


async def _publish_gauges(ctx: StorefrontContext, storefront_id: uuid.UUID) -> None:
    async with ctx.uow(readonly=True) as uow:
        figures = await StorefrontRepository.of(uow).sync_figures(storefront_id)
    PENDING.labels(storefront=str(storefront_id)).set(figures.pending)
    SYNC_LAG.labels(storefront=str(storefront_id)).set(
        sync_lag_seconds(figures.oldest_pending, utcnow())
    )
