"""Request and response bodies of SKUs, stock and transfers (locations: location_schemas.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from msgspec import Meta, Struct

from app.inventory.hours import PickupStatus
from app.platform.http.schemas import (
    CODE_PATTERN,
    CODE_RULE,
    PLAIN_TEXT,
    Barcode,
    Code,
    Currency,
    Money,
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
    pickup_status: Annotated[
        PickupStatus,
        Meta(
            description="open: open now; closed_now: opens again later today; closed_today: "
            "not open again today; closed: no opening ahead to promise (pickup_ready_by null); "
            "paused: the store has paused pickups (null); not_offered: no pickup here (null)"
        ),
    ]
    pickup_ready_by: Annotated[
        datetime | None,
        Meta(description="When an order placed now can be ready here (UTC)"),
    ]


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
    draft: bool = False

    example: ClassVar[RequestExample] = {
        "from_location": "WH-PRK",
        "to_location": "LDN-OXF",
        "lines": [{"sku": "TEE-BLK-M", "quantity": 10}],
    }


class TransferReceiveIn(Struct, forbid_unknown_fields=True, frozen=True):
    lines: Annotated[list[TransferLineIn], Meta(max_length=500)] | None = None
    close: bool = False

    example: ClassVar[RequestExample] = {
        "lines": [{"sku": "TEE-BLK-M", "quantity": 8}],
        "close": True,
    }


class TransferLineOut(Struct):
    sku: str
    quantity: int
    received: int = 0
    in_transit: int = 0
    over_received: int = 0
    lost: int = 0
    returned: int = 0


class TransferOut(Struct):
    id: UUID
    from_location: str
    to_location: str
    status: Literal["draft", "in_transit", "partially_received", "received", "cancelled"]
    lines: list[TransferLineOut]
    created_by: str
    created_at: datetime
    received_at: datetime | None
    shipped_at: datetime | None = None
    cancelled_at: datetime | None = None


class TransferPage(Struct):
    items: list[TransferOut]
    next_cursor: str | None


# count sessions -----------------------------------------------------------------------------
class CountSessionIn(Struct, forbid_unknown_fields=True):
    location: Code
    skus: Annotated[list[Code], Meta(max_length=1000)] = []  # none: lines come as counted

    example: ClassVar[RequestExample] = {"location": "LDN-OXF", "skus": ["TEE-BLK-M"]}
    schema_rules: ClassVar[RequestExample] = {
        "allOf": [
            {
                "properties": {
                    "skus": {
                        "items": {
                            "type": "string",
                            "pattern": CODE_PATTERN,
                            "maxLength": 64,
                            "description": CODE_RULE,
                        }
                    }
                }
            }
        ]
    }  # Litestar leaves out what a list's items must be


class CountSessionLinesIn(Struct, forbid_unknown_fields=True):
    lines: Annotated[list[CountLineIn], Meta(min_length=1, max_length=1000)]

    example: ClassVar[RequestExample] = {"lines": [{"sku": "TEE-BLK-M", "counted": 11}]}


class CountSessionLineOut(Struct):
    sku: str
    counted: int | None
    expected: int
    moved_since: int
    variance: int | None
    as_of: int
    counted_by: str | None
    counted_at: datetime | None


class CountSessionOut(Struct):
    id: UUID
    location: str
    status: Literal["open", "approved", "cancelled"]
    as_of: int
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    lines: list[CountSessionLineOut]


class CountSessionSummaryOut(Struct):
    id: UUID
    location: str
    status: Literal["open", "approved", "cancelled"]
    as_of: int
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None


class CountSessionPage(Struct):
    items: list[CountSessionSummaryOut]
    next_cursor: str | None
