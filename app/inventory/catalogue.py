"""Use cases of the catalogue: locations and SKUs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.inventory.repository import CatalogueRepository
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.errors import BusinessRuleViolation
from app.platform.views import view_of


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


@dataclass(frozen=True, slots=True)
class LocationView:
    code: str
    name: str
    kind: str
    latitude: float
    longitude: float
    pickup_enabled: bool
    ship_enabled: bool
    default_safety_stock: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SkuView:
    id: int
    """The cursor of a catalogue page."""
    sku: str
    name: str
    price_minor: int
    currency: str
    barcode: str | None
    created_at: datetime
    updated_at: datetime


async def create_location(ctx: Context, principal: Principal, data: NewLocation) -> LocationView:
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
        view = view_of(LocationView, location)
        await uow.commit()
    return view


async def list_locations(ctx: Context) -> list[LocationView]:
    async with ctx.uow(readonly=True) as uow:
        return [
            view_of(LocationView, loc) for loc in await CatalogueRepository.of(uow).all_locations()
        ]


async def get_location(ctx: Context, code: str) -> LocationView:
    async with ctx.uow(readonly=True) as uow:
        return view_of(LocationView, await CatalogueRepository.of(uow).location(code))


async def create_sku(ctx: Context, principal: Principal, data: SkuData) -> SkuView:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with ctx.uow() as uow:
        view = view_of(SkuView, await CatalogueRepository.of(uow).add_sku(**_sku_values(data)))
        await uow.commit()
    return view


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


async def list_skus(ctx: Context, after_id: int, limit: int) -> list[SkuView]:
    async with ctx.uow(readonly=True) as uow:
        return [
            view_of(SkuView, sku)
            for sku in await CatalogueRepository.of(uow).list_skus(after_id, limit)
        ]


async def get_sku(ctx: Context, code: str) -> SkuView:
    async with ctx.uow(readonly=True) as uow:
        return view_of(SkuView, await CatalogueRepository.of(uow).sku(code))


def _sku_values(data: SkuData) -> dict[str, Any]:
    return {
        "sku": data.sku,
        "name": data.name,
        "price_minor": data.price_minor,
        "currency": data.currency.upper(),
        "barcode": data.barcode,
    }
