"""Read Shopify's levels back and repair drift."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import structlog

from app.platform.access import Principal
from app.platform.tables import utcnow
from app.storefronts.config import StorefrontContext
from app.storefronts.ports import GatewayError, ShopifyUnreachable
from app.storefronts.push import push_pending_levels
from app.storefronts.repository import StorefrontRepository, error_entry
from app.storefronts.rules import (
    Drift,
    find_drift,
    quantity_to_publish,
)
from app.storefronts.setup import _require_admin

log = structlog.get_logger("omnistock.storefronts")


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    checked: int
    drifted: list[Drift]
    repaired: int


async def reconcile_storefront(
    ctx: StorefrontContext, principal: Principal | None, storefront_id: uuid.UUID
) -> ReconcileReport:
    """Read what Shopify shows for every mapped level, report where it differs from ours,
    and repair it by pushing ours. `principal` is None for the scheduled job."""
    if principal is not None:
        _require_admin(principal)
    async with ctx.uow(readonly=True) as uow:
        repo = StorefrontRepository.of(uow)
        storefront = await repo.get(storefront_id)
        levels = await repo.mapped_levels(storefront_id)
    client = ctx.sync.client_factory(ctx.sync.connection(storefront))
    targets = [(level.external_item_id, level.external_location_id) for level in levels]
    try:
        theirs_by_target = await asyncio.to_thread(client.read_available, targets)
    except GatewayError as error:
        async with ctx.uow() as uow:
            await StorefrontRepository.of(uow).record_calls(
                storefront_id,
                calls=client.calls,
                throttled=client.throttled,
                synced_at=None,
                errors=[error_entry(f"reconcile: {error}")],
            )
            await uow.commit()
        raise ShopifyUnreachable(f"could not read the storefront's levels: {error}") from None
    ours: dict[tuple[str, str], int] = {}
    theirs: dict[tuple[str, str], int | None] = {}
    ids: dict[tuple[str, str], tuple[int, int]] = {}
    for level in levels:
        key = (level.sku, level.location)
        ours[key] = quantity_to_publish(level.quantities, storefront.buffer)
        theirs[key] = theirs_by_target.get((level.external_item_id, level.external_location_id))
        ids[key] = (level.sku_id, level.location_id)
    drifted = find_drift(ours, theirs)
    async with ctx.uow() as uow:
        repo = StorefrontRepository.of(uow)
        await repo.record_calls(
            storefront_id, calls=client.calls, throttled=client.throttled, synced_at=None
        )
        await repo.mark_levels_pending(
            storefront_id, [ids[(d.sku, d.location)] for d in drifted], utcnow()
        )
        await uow.commit()
    if drifted:
        log.warning("storefront drift found", storefront=str(storefront_id), levels=len(drifted))
        report = await push_pending_levels(ctx, storefront_id)
        repaired = len(drifted) if not report.errors and report.claimed else 0
    else:
        repaired = 0
    return ReconcileReport(checked=len(levels), drifted=drifted, repaired=repaired)
