"""Discovery: read the shop's locations and variants and map ours onto them."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import structlog

from app.platform.access import Permission, Principal
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork
from app.storefronts.config import StorefrontContext
from app.storefronts.discovery_repository import DiscoveryRepository
from app.storefronts.matching import LocationMatch, match_items, match_locations
from app.storefronts.ports import (
    GatewayError,
    ShopifyGateway,
    ShopifyUnreachable,
    ShopLocation,
    ShopVariant,
)
from app.storefronts.repository import StorefrontRepository, error_entry
from app.storefronts.subscriptions import register_webhooks

log = structlog.get_logger("omnistock.storefronts")


@dataclass(frozen=True, slots=True)
class ShopCatalogue:
    """What the shop has, as read by one discovery."""

    locations: list[ShopLocation]
    variants: list[ShopVariant]
    calls: int
    throttled: int


@dataclass(frozen=True, slots=True)
class DiscoveryReport:
    locations: list[LocationMatch]
    mapped: int
    newly_mapped: int
    unmatched_ours: list[str]
    unmatched_theirs: list[ShopVariant]


async def read_shop(client: ShopifyGateway) -> ShopCatalogue:
    """Locations and variants, paginated; `GatewayError` when Shopify cannot be read."""

    def read() -> ShopCatalogue:
        locations = client.read_locations()
        variants = client.read_variants()
        return ShopCatalogue(locations, variants, client.calls, client.throttled)

    return await asyncio.to_thread(read)


async def discover(
    ctx: StorefrontContext, principal: Principal, storefront_id: uuid.UUID
) -> DiscoveryReport:
    """Re-runnable: existing mappings stay while the shop still has their items; what is
    new on either side is matched, what is not is reported."""
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow(readonly=True) as uow:
        storefront = await StorefrontRepository.of(uow).get(storefront_id)
    client = ctx.sync.client_factory(ctx.sync.connection(storefront))
    try:
        shop = await read_shop(client)
    except GatewayError as error:
        async with ctx.uow() as uow:
            await StorefrontRepository.of(uow).record_calls(
                storefront_id,
                calls=client.calls,
                throttled=client.throttled,
                synced_at=None,
                errors=[error_entry(f"discover: {error}")],
            )
            await uow.commit()
        raise ShopifyUnreachable(f"could not read the shop: {error}") from None
    async with ctx.uow() as uow:
        report = await apply_discovery(uow, storefront_id, shop)
        await uow.commit()
    await register_webhooks(ctx, storefront_id)
    return report


async def apply_discovery(
    uow: UnitOfWork, storefront_id: uuid.UUID, shop: ShopCatalogue
) -> DiscoveryReport:
    """Map what matches, inside the caller's transaction; new levels become pending."""
    repo = DiscoveryRepository.of(uow)
    storefronts = StorefrontRepository.of(uow)
    await storefronts.get(storefront_id)
    locations, new_locations = match_locations(
        await repo.our_locations(), shop.locations, await repo.location_mappings(storefront_id)
    )
    items = match_items(
        await repo.our_skus(), shop.variants, await repo.item_mappings(storefront_id)
    )
    await repo.add_locations(storefront_id, new_locations)
    await storefronts.map_items(storefront_id, items.new)
    now = utcnow()
    if new_locations:
        await storefronts.mark_all_pending(storefront_id, now)
    else:
        await storefronts.mark_skus_pending(storefront_id, list(items.new), now)
    await storefronts.record_calls(
        storefront_id, calls=shop.calls, throttled=shop.throttled, synced_at=None
    )
    log.info(
        "storefront discovered",
        storefront=str(storefront_id),
        variants=len(shop.variants),
        newly_mapped=len(items.new),
        new_locations=len(new_locations),
    )
    return DiscoveryReport(
        locations=locations,
        mapped=items.mapped,
        newly_mapped=len(items.new),
        unmatched_ours=items.unmatched_ours,
        unmatched_theirs=items.unmatched_theirs,
    )
