"""Request and response bodies of locations, SKUs, stock and transfers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta, Struct

from app.platform.http.schemas import (
    PLAIN_TEXT,
    Barcode,
    Code,
    Currency,
    Latitude,
    Longitude,
    Money,
    Name,
    NonNegative,
    Quantity,
    Reason,
    Reference,
    SignedQuantity,
)

"""Free text without control characters (NUL cannot be stored in PostgreSQL text)."""


# locations ----------------------------------------------------------------------------------
class LocationIn(Struct, forbid_unknown_fields=True):
    code: Code
    name: Name
    kind: Literal["store", "warehouse"]
    latitude: Latitude
    longitude: Longitude
    pickup_enabled: bool = False
    ship_enabled: bool = False
    default_safety_stock: NonNegative = 0


class LocationOut(Struct):
    code: str
    name: str
    kind: str
    latitude: float
    longitude: float
    pickup_enabled: bool
    ship_enabled: bool
    default_safety_stock: int
    created_at: datetime


# skus ---------------------------------------------------------------------------------------
class SkuIn(Struct, forbid_unknown_fields=True):
    sku: Code
    name: Annotated[str, Meta(min_length=1, max_length=300, pattern=PLAIN_TEXT)]
    price_minor: Money
    currency: Currency
    barcode: Barcode | None = None


class SkuOut(Struct):
    sku: str
    name: str
    price_minor: int
    currency: str
    barcode: str | None
    created_at: datetime
    updated_at: datetime


class SkuPage(Struct):
    items: list[SkuOut]
    next_cursor: str | None


class SkuBulkIn(Struct, forbid_unknown_fields=True):
    items: Annotated[list[SkuIn], Meta(min_length=1, max_length=1000)]


class SkuBulkOut(Struct):
    upserted: int


# stock --------------------------------------------------------------------------------------
class LevelOut(Struct):
    location: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    incoming: int


class SkuStockOut(Struct):
    sku: str
    total_available: int
    locations: list[LevelOut]


class SingleLevelOut(Struct):
    sku: str
    location: str
    on_hand: int
    reserved: int
    safety_stock: int
    available: int
    incoming: int


class MovementIn(Struct, forbid_unknown_fields=True):
    location: Code
    sku: Code
    kind: Literal["receipt", "adjustment", "damage", "count"]
    quantity: SignedQuantity
    reason: Reason | None = None
    reference: Reference | None = None


class MovementOut(Struct):
    id: int
    sku: str
    location: str
    kind: str
    on_hand_delta: int
    reserved_delta: int
    safety_stock_delta: int
    incoming_delta: int
    channel: str
    reference: str | None
    reason: str | None
    actor: str
    created_at: datetime


class MovementCreatedOut(Struct):
    movement: MovementOut
    level: SingleLevelOut


class MovementPage(Struct):
    items: list[MovementOut]
    next_cursor: str | None


class CountLineIn(Struct, forbid_unknown_fields=True):
    sku: Code
    counted: NonNegative


class CountsIn(Struct, forbid_unknown_fields=True):
    location: Code
    counts: Annotated[list[CountLineIn], Meta(min_length=1, max_length=1000)]
    reference: Reference | None = None


class CountsOut(Struct):
    location: str
    results: list[MovementCreatedOut]


class SafetyStockIn(Struct, forbid_unknown_fields=True):
    safety_stock: NonNegative


class NearbyStoreOut(Struct):
    location: str
    name: str
    distance_km: float
    available: int
    pickup_enabled: bool


class AvailabilityOut(Struct):
    sku: str | list[str]
    results: list[NearbyStoreOut]


class TransferLineIn(Struct, forbid_unknown_fields=True):
    sku: Code
    quantity: Quantity


class TransferIn(Struct, forbid_unknown_fields=True):
    from_location: Code
    to_location: Code
    lines: Annotated[list[TransferLineIn], Meta(min_length=1, max_length=500)]


class TransferLineOut(Struct):
    sku: str
    quantity: int


class TransferOut(Struct):
    id: UUID
    from_location: str
    to_location: str
    status: str
    lines: list[TransferLineOut]
    created_by: str
    created_at: datetime
    received_at: datetime | None
