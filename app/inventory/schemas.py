"""Request and response bodies of locations, SKUs, stock and transfers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
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
    RequestExample,
    SignedQuantity,
)

SKU_EXAMPLE: RequestExample = {
    "sku": "TEE-BLK-M",
    "name": "Classic tee, black, M",
    "price_minor": 1800,
    "currency": "GBP",
    "barcode": "5012345678900",
}


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

    example: ClassVar[RequestExample] = {
        "code": "LDN-OXF",
        "name": "Oxford Street",
        "kind": "store",
        "latitude": 51.5152,
        "longitude": -0.1419,
        "pickup_enabled": True,
        "ship_enabled": False,
        "default_safety_stock": 1,
    }


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

    example: ClassVar[RequestExample] = SKU_EXAMPLE


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

    example: ClassVar[RequestExample] = {
        "items": [SKU_EXAMPLE, {**SKU_EXAMPLE, "sku": "TEE-BLK-L", "barcode": "5012345678917"}]
    }


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

    example: ClassVar[RequestExample] = {
        "location": "LDN-OXF",
        "sku": "TEE-BLK-M",
        "kind": "receipt",
        "quantity": 24,
        "reference": "PO-1042",
    }


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

    example: ClassVar[RequestExample] = {
        "location": "LDN-OXF",
        "counts": [{"sku": "TEE-BLK-M", "counted": 12}],
        "reference": "cycle count, week 48",
    }


class CountsOut(Struct):
    location: str
    results: list[MovementCreatedOut]


class SafetyStockIn(Struct, forbid_unknown_fields=True):
    safety_stock: NonNegative

    example: ClassVar[RequestExample] = {"safety_stock": 2}


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

    example: ClassVar[RequestExample] = {
        "from_location": "WH-PRK",
        "to_location": "LDN-OXF",
        "lines": [{"sku": "TEE-BLK-M", "quantity": 10}],
    }


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
