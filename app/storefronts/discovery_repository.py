"""What discovery reads and writes: our SKUs and locations, a storefront's mappings."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.inventory.tables import Location, Sku
from app.platform.uow import Repository
from app.storefronts.matching import OurLocation, OurSku
from app.storefronts.tables import StorefrontItem, StorefrontLocation

PAGE = 5_000


class DiscoveryRepository(Repository):
    async def our_skus(self) -> list[OurSku]:
        found: list[OurSku] = []
        after = 0
        while True:
            result = await self.session.execute(
                select(Sku.id, Sku.sku, Sku.barcode)
                .where(Sku.id > after)
                .order_by(Sku.id)
                .limit(PAGE)
            )
            rows = [OurSku(id=row[0], sku=row[1], barcode=row[2]) for row in result]
            found += rows
            if len(rows) < PAGE:
                return found
            after = rows[-1].id

    async def our_locations(self) -> list[OurLocation]:
        result = await self.session.execute(
            select(Location.id, Location.code, Location.name).order_by(Location.code)
        )
        return [OurLocation(id=row[0], code=row[1], name=row[2]) for row in result]

    async def item_mappings(self, storefront_id: uuid.UUID) -> dict[int, str]:
        result = await self.session.execute(
            select(StorefrontItem.sku_id, StorefrontItem.external_inventory_item_id).where(
                StorefrontItem.storefront_id == storefront_id
            )
        )
        return {row[0]: row[1] for row in result}

    async def location_mappings(self, storefront_id: uuid.UUID) -> dict[str, str]:
        """Shopify location gid → our location code."""
        result = await self.session.execute(
            select(StorefrontLocation.external_location_id, Location.code)
            .join(Location, Location.id == StorefrontLocation.location_id)
            .where(StorefrontLocation.storefront_id == storefront_id)
        )
        return {row[0]: row[1] for row in result}

    async def add_locations(self, storefront_id: uuid.UUID, locations: dict[int, str]) -> None:
        self.session.add_all(
            StorefrontLocation(
                storefront_id=storefront_id, location_id=location_id, external_location_id=gid
            )
            for location_id, gid in locations.items()
        )
        await self.session.flush()
