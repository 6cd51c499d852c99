"""A person looks a SKU up by what they have in hand: its code, its barcode or its name; and
sees it here and at the stores nearby."""

from __future__ import annotations

from dataclasses import dataclass

from app.inventory.availability import NearbyStore, stores_near
from app.inventory.catalogue import SkuView
from app.inventory.queries import StockQueries
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import Quantities
from app.inventory.sku_lookup_repository import SkuLookupRepository
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.views import view_of

NEARBY_KM = 25.0


@dataclass(frozen=True, slots=True)
class SkuHere:
    """A SKU at one store, and the stores near it that could fill a pickup of it."""

    sku: SkuView
    here: Quantities
    nearby: list[NearbyStore]


async def find_skus(
    ctx: Context, principal: Principal, text: str, limit: int = 10
) -> list[SkuView]:
    principal.require(Permission.READ)
    if not text.strip():
        return []
    async with ctx.uow(readonly=True, replica=True) as uow:
        found = await SkuLookupRepository.of(uow).find(text, limit)
        return [view_of(SkuView, sku) for sku in found]


async def sku_at_store(
    ctx: Context, principal: Principal, sku: SkuView, store: str, radius_km: float = NEARBY_KM
) -> SkuHere:
    """The SKU's level at `store` and, nearest first, the other stores within `radius_km`
    (those with none too), with when a pickup there could be ready."""
    principal.require(Permission.READ)
    async with ctx.uow(readonly=True, replica=True) as uow:
        location = await CatalogueRepository.of(uow).location(store)
        here = await StockQueries.of(uow).level(sku.id, location.id)
        latitude, longitude = location.latitude, location.longitude
    nearby = await stores_near(
        ctx,
        skus=[sku.sku],
        latitude=latitude,
        longitude=longitude,
        radius_km=radius_km,
        quantity=1,
        include_out_of_stock=True,
    )
    return SkuHere(sku, here, [s for s in nearby if s.location != store])
