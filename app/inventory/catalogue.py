"""Use cases of the catalogue: locations and SKUs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from app.inventory import hours
from app.inventory.repository import CatalogueRepository
from app.platform.access import ROLE_PERMISSIONS, Permission, Principal
from app.platform.context import Context
from app.platform.errors import BusinessRuleViolation, Forbidden
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
    timezone: str = "UTC"
    opening_hours: Mapping[str, Sequence[Sequence[str]]] = field(default_factory=dict)
    closed_dates: Sequence[str | date] = ()
    pickup_lead_minutes: int = 60
    pickup_paused: bool = False


@dataclass(frozen=True, slots=True)
class LocationChanges:
    """What a PATCH changes; None leaves a field as it is."""

    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    pickup_enabled: bool | None = None
    ship_enabled: bool | None = None
    default_safety_stock: int | None = None
    timezone: str | None = None
    opening_hours: Mapping[str, Sequence[Sequence[str]]] | None = None
    closed_dates: Sequence[str | date] | None = None
    pickup_lead_minutes: int | None = None
    pickup_paused: bool | None = None

    def given(self) -> dict[str, Any]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


STORE_FIELDS = frozenset(
    {"timezone", "opening_hours", "closed_dates", "pickup_lead_minutes", "pickup_paused"}
)
"""What a store's manager may change at their store (PRODUCT.md: the store's day)."""


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
    timezone: str
    opening_hours: dict[str, list[list[str]]]
    closed_dates: list[str]
    pickup_lead_minutes: int
    pickup_paused: bool


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
            **_pickup_values(
                data.timezone,
                data.opening_hours,
                data.closed_dates,
                data.pickup_lead_minutes,
                data.pickup_paused,
            ),
        )
        view = view_of(LocationView, location)
        await uow.commit()
    return view


async def update_location(
    ctx: Context, principal: Principal, code: str, changes: LocationChanges
) -> LocationView:
    """Admin changes any of these fields; a manager of the store only its pickup fields."""
    given = changes.given()
    _require_may_change(principal, code, set(given))
    async with ctx.uow() as uow:
        location = await CatalogueRepository.of(uow).location(code)
        pickup = _pickup_values(
            given.get("timezone", location.timezone),
            given.get("opening_hours", location.opening_hours),
            given.get("closed_dates", location.closed_dates),
            given.get("pickup_lead_minutes", location.pickup_lead_minutes),
            given.get("pickup_paused", location.pickup_paused),
        )
        for name, value in given.items():
            setattr(location, name, pickup.get(name, value))
        view = view_of(LocationView, location)
        await uow.commit()
    return view


async def list_locations(ctx: Context) -> list[LocationView]:
    async with ctx.uow(readonly=True, replica=True) as uow:
        return [
            view_of(LocationView, loc) for loc in await CatalogueRepository.of(uow).all_locations()
        ]


async def get_location(ctx: Context, code: str) -> LocationView:
    async with ctx.uow(readonly=True, replica=True) as uow:
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
    async with ctx.uow(readonly=True, replica=True) as uow:
        return [
            view_of(SkuView, sku)
            for sku in await CatalogueRepository.of(uow).list_skus(after_id, limit)
        ]


async def get_sku(ctx: Context, code: str) -> SkuView:
    async with ctx.uow(readonly=True, replica=True) as uow:
        return view_of(SkuView, await CatalogueRepository.of(uow).sku(code))


def _require_may_change(principal: Principal, code: str, names: set[str]) -> None:
    if Permission.MANAGE_CATALOGUE in ROLE_PERMISSIONS[principal.role]:
        return
    principal.require(Permission.MANAGE_STORE, at_location=code)
    if others := sorted(names - STORE_FIELDS):
        raise Forbidden(
            f"a store's manager changes only its pickup fields, not {', '.join(others)}",
            {"fields": others},
        )


def _pickup_values(
    timezone: str,
    opening_hours: Mapping[str, Sequence[Sequence[str]]] | None,
    closed_dates: Sequence[str | date],
    lead_minutes: int,
    paused: bool,
) -> dict[str, Any]:
    """The pickup fields as stored, validated together (`InvalidStoreHours` otherwise)."""
    store_hours = hours.StoreHours.parse(timezone, opening_hours, closed_dates)
    return {
        "timezone": timezone,
        "opening_hours": hours.week_json(store_hours.week),
        "closed_dates": sorted(day.isoformat() for day in store_hours.closed_dates),
        "pickup_lead_minutes": hours.check_lead_minutes(lead_minutes),
        "pickup_paused": paused,
    }


def _sku_values(data: SkuData) -> dict[str, Any]:
    return {
        "sku": data.sku,
        "name": data.name,
        "price_minor": data.price_minor,
        "currency": data.currency.upper(),
        "barcode": data.barcode,
    }
