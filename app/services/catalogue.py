"""Use cases for locations and the SKU catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.db.models import Location, Sku
from app.db.session import UnitOfWork
from app.domain.access import Permission, Principal
from app.domain.errors import BusinessRuleViolation


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


async def create_location(uow: UnitOfWork, principal: Principal, data: NewLocation) -> Location:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with uow:
        location = await uow.catalogue.add_location(
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


async def list_locations(uow: UnitOfWork) -> list[Location]:
    async with uow:
        return await uow.catalogue.all_locations()


async def get_location(uow: UnitOfWork, code: str) -> Location:
    async with uow:
        return await uow.catalogue.location(code)


async def create_sku(uow: UnitOfWork, principal: Principal, data: SkuData) -> Sku:
    principal.require(Permission.MANAGE_CATALOGUE)
    async with uow:
        sku = await uow.catalogue.add_sku(**_sku_values(data))
        await uow.commit()
        return sku


async def upsert_skus(uow: UnitOfWork, principal: Principal, items: list[SkuData]) -> int:
    principal.require(Permission.MANAGE_CATALOGUE)
    codes = [item.sku for item in items]
    if len(set(codes)) != len(codes):
        raise BusinessRuleViolation("a sku appears twice in the batch")
    barcodes = [item.barcode for item in items if item.barcode]
    if len(set(barcodes)) != len(barcodes):
        raise BusinessRuleViolation("a barcode appears twice in the batch")
    async with uow:
        await uow.catalogue.upsert_skus([_sku_values(item) for item in items])
        await uow.commit()
    return len(items)


async def list_skus(uow: UnitOfWork, after_id: int, limit: int) -> list[Sku]:
    async with uow:
        return await uow.catalogue.list_skus(after_id, limit)


async def get_sku(uow: UnitOfWork, code: str) -> Sku:
    async with uow:
        return await uow.catalogue.sku(code)


def _sku_values(data: SkuData) -> dict[str, Any]:
    return {
        "sku": data.sku,
        "name": data.name,
        "price_minor": data.price_minor,
        "currency": data.currency.upper(),
        "barcode": data.barcode,
    }
