"""Request and response bodies of carts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar
from uuid import UUID

from msgspec import Meta, Struct

from app.orders.schemas import Email, OrderLineIn, ShipIn
from app.platform.http.schemas import PLAIN_TEXT, Code, RequestExample

CartLines = Annotated[list[OrderLineIn], Meta(max_length=200)]


class CartCustomerIn(Struct, forbid_unknown_fields=True):
    email: Email


class CartIn(Struct, forbid_unknown_fields=True):
    customer: CartCustomerIn
    lines: CartLines = []
    hold_at: Annotated[Code, Meta(description="A store to hold the lines at")] | None = None

    example: ClassVar[RequestExample] = {
        "customer": {"email": "ada@example.com"},
        "lines": [{"sku": "TEE-BLK-M", "quantity": 1}],
        "hold_at": "LDN-OXF",
    }


class CartLinesIn(Struct, forbid_unknown_fields=True):
    lines: CartLines
    hold_at: Annotated[Code, Meta(description="Hold (or move the hold) at this store")] | None = (
        None
    )

    example: ClassVar[RequestExample] = {"lines": [{"sku": "TEE-BLK-M", "quantity": 2}]}


class CartPickupIn(Struct, forbid_unknown_fields=True, tag_field="type", tag="pickup"):
    location: Annotated[Code, Meta(description="Defaults to the store holding the cart")] | None = (
        None
    )


class CheckoutIn(Struct, forbid_unknown_fields=True):
    fulfilment: CartPickupIn | ShipIn
    notes: Annotated[str, Meta(max_length=2000, pattern=PLAIN_TEXT)] | None = None

    example: ClassVar[RequestExample] = {"fulfilment": {"type": "pickup"}}


class CartLineOut(Struct):
    sku: str
    name: str
    quantity: int
    held: int  # units held at the cart's store (0 without a live hold)
    unit_price_minor: int


class HoldOut(Struct):
    location: str
    held_until: datetime
    extended: bool


class CartStepOut(Struct):
    at: datetime
    channel: str
    event: str


class CartOut(Struct):
    id: UUID
    code: str
    code_qr_svg: str  # the code as a QR (SVG), for the app to show at the counter
    customer_id: UUID
    status: str
    lines: list[CartLineOut]
    hold: HoldOut | None
    order_id: UUID | None
    channel_history: list[CartStepOut]
    created_at: datetime
    updated_at: datetime
