"""Locations and SKUs over HTTP."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, patch, post, put
from litestar.params import JSONBody, Parameter
from msgspec import UNSET

from app.inventory import catalogue
from app.inventory.catalogue import LocationChanges, LocationView, NewLocation, SkuData, SkuView
from app.inventory.location_schemas import LocationIn, LocationOut, LocationPatch
from app.inventory.schemas import (
    SkuBulkIn,
    SkuBulkOut,
    SkuIn,
    SkuOut,
    SkuPage,
)
from app.platform.http.deps import CallerDep, ContextDep
from app.platform.http.schemas import CodePath, CursorQuery, decode_cursor, encode_cursor


def location_out(location: LocationView) -> LocationOut:
    return LocationOut(
        code=location.code,
        name=location.name,
        kind=location.kind,
        latitude=location.latitude,
        longitude=location.longitude,
        pickup_enabled=location.pickup_enabled,
        ship_enabled=location.ship_enabled,
        default_safety_stock=location.default_safety_stock,
        created_at=location.created_at,
        timezone=location.timezone,
        opening_hours=location.opening_hours,
        closed_dates=location.closed_dates,
        pickup_lead_minutes=location.pickup_lead_minutes,
        pickup_paused=location.pickup_paused,
    )


def sku_out(sku: SkuView) -> SkuOut:
    return SkuOut(
        sku=sku.sku,
        name=sku.name,
        price_minor=sku.price_minor,
        currency=sku.currency,
        barcode=sku.barcode,
        created_at=sku.created_at,
        updated_at=sku.updated_at,
    )


def sku_data(item: SkuIn) -> SkuData:
    return SkuData(
        sku=item.sku,
        name=item.name,
        price_minor=item.price_minor,
        currency=item.currency,
        barcode=item.barcode,
    )


class LocationController(Controller):
    path = "/v1/locations"
    tags = ["catalogue"]

    @post(
        "/",
        summary="Create a store or warehouse",
        opt={"errors_dropped": (404,)},  # 422: hours that break their rules
    )
    async def create(
        self, data: JSONBody[LocationIn], ctx: ContextDep, principal: CallerDep
    ) -> LocationOut:
        location = await catalogue.create_location(
            ctx,
            principal,
            NewLocation(
                code=data.code,
                name=data.name,
                kind=data.kind,
                latitude=data.latitude,
                longitude=data.longitude,
                pickup_enabled=data.pickup_enabled,
                ship_enabled=data.ship_enabled,
                default_safety_stock=data.default_safety_stock,
                timezone=data.timezone,
                opening_hours=data.opening_hours.as_dict() if data.opening_hours else {},
                closed_dates=data.closed_dates,
                pickup_lead_minutes=data.pickup_lead_minutes,
                pickup_paused=data.pickup_paused,
            ),
        )
        return location_out(location)

    @patch(
        "/{code:str}",
        summary="Change a location (admin; a store's manager: its hours, lead time and pause)",
    )
    async def change(
        self, code: CodePath, data: JSONBody[LocationPatch], ctx: ContextDep, principal: CallerDep
    ) -> LocationOut:
        given: dict[str, Any] = {
            name: value
            for name in LocationPatch.__struct_fields__
            if (value := getattr(data, name)) is not UNSET
        }
        if "opening_hours" in given:
            hours = given["opening_hours"]
            given["opening_hours"] = hours.as_dict() if hours is not None else {}
        changes = LocationChanges(**given)
        return location_out(await catalogue.update_location(ctx, principal, code, changes))

    @get("/", summary="All locations")
    async def list_all(self, ctx: ContextDep) -> list[LocationOut]:
        return [location_out(loc) for loc in await catalogue.list_locations(ctx)]

    @get("/{code:str}", summary="One location")
    async def get_one(self, code: CodePath, ctx: ContextDep) -> LocationOut:
        return location_out(await catalogue.get_location(ctx, code))


class SkuController(Controller):
    path = "/v1/skus"
    tags = ["catalogue"]

    @post("/", summary="Create a SKU")
    async def create(self, data: JSONBody[SkuIn], ctx: ContextDep, principal: CallerDep) -> SkuOut:
        return sku_out(await catalogue.create_sku(ctx, principal, sku_data(data)))

    @put("/", summary="Create or update up to 1,000 SKUs by code")
    async def bulk_upsert(
        self, data: JSONBody[SkuBulkIn], ctx: ContextDep, principal: CallerDep
    ) -> SkuBulkOut:
        count = await catalogue.upsert_skus(ctx, principal, [sku_data(i) for i in data.items])
        return SkuBulkOut(upserted=count)

    @get("/", summary="The catalogue, page by page")
    async def list_page(
        self,
        ctx: ContextDep,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        cursor: CursorQuery = None,
    ) -> SkuPage:
        skus = await catalogue.list_skus(ctx, decode_cursor(cursor), limit)
        next_cursor = encode_cursor(skus[-1].id) if len(skus) == limit else None
        return SkuPage(items=[sku_out(s) for s in skus], next_cursor=next_cursor)

    @get("/{sku:str}", summary="One SKU")
    async def get_one(self, sku: CodePath, ctx: ContextDep) -> SkuOut:
        return sku_out(await catalogue.get_sku(ctx, sku))
