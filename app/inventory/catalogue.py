"""Use cases of the catalogue: locations and SKUs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.inventory.repository import CatalogueRepository
from app.inventory.tables import Location, Sku
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.errors import BusinessRuleViolation


@dataclass(frozen=True, slots=True)
class NewLocation:
    code: str
    name: str
    kind: str
    latitude: float
    longitude: float
    pickup_enabled: bool = False
    ship_enabled: bool = False
    default_safety_stock: int = 0


@dataclass(frozen=True, slots=True)
class SkuData:
    sku: str
    name: str
    price_minor: int
    currency: str
    barcode: str | None = None


async def create_location(ctx: Context, principal: Principal, data: NewLocation) -> Location:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow() as uow:
        location = await CatalogueRepository.of(uow).add_location(
            code=data.code,
            name=data.name,
            kind=data.kind,
            latitude=data.latitude,
            longitude=data.longitude,
            pickup_enabled=data.pickup_enabled,
            ship_enabled=data.ship_enabled,
            default_safety_stock=data.default_safety_stock,
        )
        await uow.commit()
        return location


async def list_locations(ctx: Context) -> list[Location]:
    async with ctx.uow(readonly=True) as uow:
        return await CatalogueRepository.of(uow).all_locations()


async def get_location(ctx: Context, code: str) -> Location:
    async with ctx.uow(readonly=True) as uow:
        return await CatalogueRepository.of(uow).location(code)


async def create_sku(ctx: Context, principal: Principal, data: SkuData) -> Sku:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow() as uow:
        sku = await CatalogueRepository.of(uow).add_sku(**_sku_values(data))
        await uow.commit()
        return sku


async def upsert_skus(ctx: Context, principal: Principal, items: list[SkuData]) -> int:
    principal.require(Permission.MANAGE_CATALOGUE)
    codes = [item.sku for item in items]
    if len(set(codes)) != len(codes):
        raise BusinessRuleViolation("a sku appears twice in the batch")
    barcodes = [item.barcode for item in items if item.barcode]
    if len(set(barcodes)) != len(barcodes):
        raise BusinessRuleViolation("a barcode appears twice in the batch")
    async with ctx.uow() as uow:
        await CatalogueRepository.of(uow).upsert_skus([_sku_values(item) for item in items])
        await uow.commit()
    return len(items)


async def list_skus(ctx: Context, after_id: int, limit: int) -> list[Sku]:
    async with ctx.uow(readonly=True) as uow:
        return await CatalogueRepository.of(uow).list_skus(after_id, limit)


async def get_sku(ctx: Context, code: str) -> Sku:
    async with ctx.uow(readonly=True) as uow:
        return await CatalogueRepository.of(uow).sku(code)


def _sku_values(data: SkuData) -> dict[str, Any]:
    return {
        "sku": data.sku,
        "name": data.name,
        "price_minor": data.price_minor,
        "currency": data.currency.upper(),
        "barcode": data.barcode,
    }
