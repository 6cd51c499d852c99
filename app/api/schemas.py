"""Request and response bodies (msgspec Structs); never ORM models on the wire."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar.exceptions import ValidationException
from litestar.params import PathParameter, QueryParameter
from msgspec import Meta, Struct

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CODE_RULE = "letters, digits, '.', '_' or '-'; at most 64 characters"
Code = Annotated[str, Meta(pattern=CODE_PATTERN, max_length=64, description=CODE_RULE)]
CodePath = Annotated[str, PathParameter(pattern=CODE_PATTERN, max_length=64, description=CODE_RULE)]
CodeQuery = Annotated[
    str | None, QueryParameter(pattern=CODE_PATTERN, max_length=64, description=CODE_RULE)
]
CursorQuery = Annotated[
    str | None,
    QueryParameter(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="next_cursor of the last page"),
]
PLAIN_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
"""Free text without control characters (NUL cannot be stored in PostgreSQL text)."""
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=PLAIN_TEXT)]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
Quantity = Annotated[int, Meta(ge=1, le=1_000_000_000)]
NonNegative = Annotated[int, Meta(ge=0, le=1_000_000_000)]
SignedQuantity = Annotated[int, Meta(ge=-1_000_000_000, le=1_000_000_000)]
Currency = Annotated[str, Meta(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code")]
Money = Annotated[int, Meta(ge=0, le=10**12, description="Integer minor units")]
Reason = Annotated[str, Meta(max_length=500, pattern=PLAIN_TEXT)]
Reference = Annotated[str, Meta(max_length=200, pattern=PLAIN_TEXT)]
Barcode = Annotated[str, Meta(pattern=r"^[0-9A-Za-z-]{1,64}$")]


# cursors ------------------------------------------------------------------------------------
def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationException("cursor is not valid") from None
    if value < 0:
        raise ValidationException("cursor is not valid")
    return value


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


# api keys -----------------------------------------------------------------------------------
class ApiKeyIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100, pattern=PLAIN_TEXT)]
    role: Literal["admin", "storefront", "mobile", "pos", "readonly"]
    location: Code | None = None


class ApiKeyOut(Struct):
    id: str
    name: str
    role: str
    location: str | None
    key: str = msgspec.field(name="key")
