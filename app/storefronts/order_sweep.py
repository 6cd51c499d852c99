"""The order sweep: Shopify does not guarantee webhooks, so every storefront's orders updated
since the last sweep are read back and applied like webhooks (repeats change nothing)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

import structlog

from app.platform.errors import DomainError
from app.platform.tables import utcnow
from app.storefronts.config import StorefrontContext
from app.storefronts.order_sync import apply_order
from app.storefronts.ports import GatewayError, ShopifyUnreachable
from app.storefronts.repository import StorefrontRepository, error_entry
from app.storefronts.shopify_orders import MalformedWebhook, order_from_graphql
from app.storefronts.webhook_repository import WebhookRepository

log = structlog.get_logger("omnistock.storefronts")

OVERLAP = timedelta(minutes=5)
"""Each sweep reads again from a little before the last one started: Shopify's clock and
ours differ, and an order may be updated while a sweep runs. The first sweep reads from
when the storefront was connected."""


@dataclass(frozen=True, slots=True)
class SweepReport:
    read: int
    applied: int
    failed: int


async def sweep_orders(ctx: StorefrontContext, storefront_id: uuid.UUID) -> SweepReport:
    started = utcnow()
    async with ctx.uow(readonly=True) as uow:
        storefront = await StorefrontRepository.of(uow).get(storefront_id)
    since = (storefront.orders_swept_at or storefront.created_at) - OVERLAP
    client = ctx.sync.client_factory(ctx.sync.connection(storefront))
    try:
        nodes = await asyncio.to_thread(client.read_orders, since)
    except GatewayError as error:
        async with ctx.uow() as uow:
            await StorefrontRepository.of(uow).record_calls(
                storefront_id,
                calls=client.calls,
                throttled=client.throttled,
                synced_at=None,
                errors=[error_entry(f"order sweep: {error}")],
            )
            await uow.commit()
        raise ShopifyUnreachable(f"could not read the shop's orders: {error}") from None
    applied = failed = 0
    for node in nodes:
        try:
            await apply_order(ctx, storefront_id, order_from_graphql(node))
            applied += 1
        except (MalformedWebhook, DomainError) as error:
            failed += 1
            log.warning("swept order not applied", order=node.get("id"), error=str(error))
    async with ctx.uow() as uow:
        await StorefrontRepository.of(uow).record_calls(
            storefront_id, calls=client.calls, throttled=client.throttled, synced_at=None
        )
        await WebhookRepository.of(uow).mark_orders_swept(storefront_id, started)
        await uow.commit()
    return SweepReport(read=len(nodes), applied=applied, failed=failed)
