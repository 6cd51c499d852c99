"""Request and response bodies of orders, customers and notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from litestar.params import QueryParameter
from msgspec import Meta, Struct

from app.platform.http.schemas import PLAIN_TEXT, Code, LineQuantity, RequestExample

NOT_IN_EMAIL = r"@\x00-\x20\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
r"""`@`, control characters and every space: spelled out, because `\s` means other characters
in Python's `re` (what checks it) and in ECMA-262 (what the OpenAPI document is read with)."""

EMAIL_PATTERN = rf"^[^{NOT_IN_EMAIL}]{{1,64}}@[^{NOT_IN_EMAIL}]{{1,255}}\Z"

Email = Annotated[
    str,
    Meta(
        pattern=EMAIL_PATTERN,
        max_length=320,
        description="An email address: no spaces or control characters",
    ),
]

EmailQuery = Annotated[
    str, QueryParameter(pattern=EMAIL_PATTERN, max_length=320, description="An email address")
]

Text = Annotated[str, Meta(max_length=200, pattern=PLAIN_TEXT)]


class CustomerIn(Struct, forbid_unknown_fields=True):
    email: Email
    name: Text | None = None
    phone: Annotated[str, Meta(max_length=50, pattern=PLAIN_TEXT)] | None = None


class OrderLineIn(Struct, forbid_unknown_fields=True):
    sku: Code
    quantity: LineQuantity


class AddressIn(Struct, forbid_unknown_fields=True):
    line1: Text
    city: Text
    postal_code: Annotated[str, Meta(max_length=20, pattern=PLAIN_TEXT)]
    country: Annotated[str, Meta(pattern=r"^[A-Za-z]{2}\Z")]
    latitude: Annotated[float, Meta(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Meta(ge=-180, le=180)] | None = None


class PickupIn(Struct, forbid_unknown_fields=True, tag_field="type", tag="pickup"):
    location: Code


class ShipIn(Struct, forbid_unknown_fields=True, tag_field="type", tag="ship"):
    address: AddressIn


class OrderIn(Struct, forbid_unknown_fields=True):
    customer: CustomerIn
    lines: Annotated[list[OrderLineIn], Meta(min_length=1, max_length=200)]
    fulfilment: PickupIn | ShipIn
    notes: Annotated[str, Meta(max_length=2000, pattern=PLAIN_TEXT)] | None = None
    channel: Literal["web", "mobile", "pos", "shopify", "admin"] | None = None

    example: ClassVar[RequestExample] = {
        "customer": {
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "phone": "+44 20 7946 0000",
        },
        "lines": [{"sku": "TEE-BLK-M", "quantity": 1}],
        "fulfilment": {"type": "pickup", "location": "LDN-OXF"},
        "notes": "gift wrap, please",
    }


class AllocationOut(Struct):
    location: str
    quantity: int


class OrderLineOut(Struct):
    sku: str
    quantity: int
    unit_price_minor: int
    allocations: list[AllocationOut]
    returned_quantity: int = 0
    name: str | None = None  # the SKU's name in the catalogue
    ready_quantity: int = 0  # of `quantity`, picked and waiting at the store
    rejected_quantity: int = 0  # rejected by a store and not re-sourced: no longer ordered
    handed_over_quantity: int = 0  # collected or shipped


class PaymentOut(Struct):
    provider: str
    payment_intent_id: str | None
    client_secret: str | None
    status: str


class OrderOut(Struct):
    id: UUID
    number: str
    channel: str
    status: str
    at_risk: bool
    customer_id: UUID
    lines: list[OrderLineOut]
    total_minor: int
    currency: str
    fulfilment: dict[str, Any]
    payment: PaymentOut
    notes: str | None
    created_at: datetime
    updated_at: datetime
    customer_name: str | None = None
    due_at: datetime | None = None  # pickup orders: when it is promised ready


class OrderPage(Struct):
    items: list[OrderOut]
    next_cursor: str | None


class PickupCodeIn(Struct, forbid_unknown_fields=True):
    pickup_code: Annotated[str, Meta(pattern=r"^[0-9]{6}\Z")]
    lines: Annotated[list[OrderLineIn], Meta(min_length=1, max_length=200)] | None = None
    """Handed over in part: these ready units only (the rest is released, not charged)."""

    example: ClassVar[RequestExample] = {"pickup_code": "493817"}


class RejectedLineIn(Struct, forbid_unknown_fields=True):
    sku: Code
    quantity: LineQuantity
    reason: Literal["damaged", "not_found", "other"]


class ReadyIn(Struct, forbid_unknown_fields=True, frozen=True):
    """No `lines`: every unit not rejected is ready. An empty body is all ready."""

    lines: Annotated[list[OrderLineIn], Meta(min_length=1, max_length=200)] | None = None
    rejected: Annotated[list[RejectedLineIn], Meta(min_length=1, max_length=200)] | None = None

    example: ClassVar[RequestExample] = {
        "lines": [{"sku": "TEE-BLK-M", "quantity": 1}],
        "rejected": [{"sku": "TEE-BLK-L", "quantity": 1, "reason": "damaged"}],
    }


class RejectIn(Struct, forbid_unknown_fields=True):
    """Units the store cannot supply; `location` says where (a ship order held at several)."""

    lines: Annotated[list[RejectedLineIn], Meta(min_length=1, max_length=200)]
    location: Code | None = None

    example: ClassVar[RequestExample] = {
        "lines": [{"sku": "TEE-BLK-M", "quantity": 1, "reason": "not_found"}],
        "location": "WH-1",
    }


Disposition = Literal["restock", "damaged"]
"""What becomes of returned units: back on sale, or written off as damaged."""


class ReturnLineIn(Struct, forbid_unknown_fields=True):
    sku: Code
    quantity: LineQuantity
    disposition: Disposition = "restock"


class ReturnIn(Struct, forbid_unknown_fields=True):
    location: Code
    lines: Annotated[list[ReturnLineIn], Meta(min_length=1, max_length=200)]

    example: ClassVar[RequestExample] = {
        "location": "LDN-COV",
        "lines": [
            {"sku": "TEE-BLK-M", "quantity": 1},
            {"sku": "TEE-BLK-L", "quantity": 1, "disposition": "damaged"},
        ],
    }


class CustomerOut(Struct):
    id: UUID
    email: str
    name: str | None
    phone: str | None
    created_at: datetime


class PreferredLocationIn(Struct, forbid_unknown_fields=True):
    preferred_location: Code | None

    example: ClassVar[RequestExample] = {"preferred_location": "LDN-OXF"}


class PreferredLocationOut(Struct):
    id: UUID
    preferred_location: str | None


class TimelineEntryOut(Struct):
    at: datetime
    channel: str
    location: str | None
    order_id: UUID | None
    event: str
    summary: str


class NotificationOut(Struct):
    id: UUID
    order_id: UUID | None
    kind: str
    to: str
    body: str
    created_at: datetime
    sent_at: datetime | None
