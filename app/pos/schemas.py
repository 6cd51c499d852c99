"""Request and response bodies of the POS."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar
from uuid import UUID

from msgspec import Meta, Struct

from app.orders.schemas import Disposition, Email
from app.platform.http.schemas import Code, LineQuantity, Money, RequestExample


class PosLineIn(Struct, forbid_unknown_fields=True):
    sku: Code
    quantity: LineQuantity
    unit_price_minor: Money


class PosCustomerIn(Struct, forbid_unknown_fields=True):
    email: Email


ClientTxnId = Annotated[
    str,
    Meta(
        pattern=r"^[A-Za-z0-9._:-]{1,100}\Z",
        max_length=100,
        description="The till's own id of the transaction: a retry with it is a replay",
    ),
]

SALE_EXAMPLE: RequestExample = {
    "client_txn_id": "LDN-OXF:till-2:000815",
    "location": "LDN-OXF",
    "occurred_at": "2026-11-30T14:05:00Z",
    "lines": [{"sku": "TEE-BLK-M", "quantity": 1, "unit_price_minor": 1800}],
    "customer": {"email": "ada@example.com"},
}


class PosSaleIn(Struct, forbid_unknown_fields=True):
    client_txn_id: ClientTxnId
    location: Code
    occurred_at: datetime
    lines: Annotated[
        list[PosLineIn],
        Meta(
            min_length=1,
            max_length=500,
            description="What was sold; may be left out with a cart_id (rung up from the cart)",
        ),
    ] = []
    customer: PosCustomerIn | None = None
    cart_id: UUID | None = None

    example: ClassVar[RequestExample] = SALE_EXAMPLE


class PosSaleBatchIn(Struct, forbid_unknown_fields=True):
    sales: Annotated[list[PosSaleIn], Meta(min_length=1, max_length=500)]

    example: ClassVar[RequestExample] = {
        "sales": [SALE_EXAMPLE, {**SALE_EXAMPLE, "client_txn_id": "LDN-OXF:till-2:000816"}]
    }


class PosBatchResult(Struct):
    status: int
    body: dict[str, Any]


class PosBatchOut(Struct):
    results: list[PosBatchResult]


class PosReturnLineIn(Struct, forbid_unknown_fields=True):
    sku: Code
    quantity: LineQuantity
    unit_price_minor: Money
    disposition: Disposition = "restock"


class PosReturnIn(Struct, forbid_unknown_fields=True):
    client_txn_id: ClientTxnId
    location: Code
    lines: Annotated[list[PosReturnLineIn], Meta(min_length=1, max_length=500)]
    original_order_id: UUID | None = None
    occurred_at: datetime | None = None

    example: ClassVar[RequestExample] = {
        "client_txn_id": "LDN-OXF:till-2:000817",
        "location": "LDN-OXF",
        "lines": [{"sku": "TEE-BLK-M", "quantity": 1, "unit_price_minor": 1800}],
        "occurred_at": "2026-12-02T10:30:00Z",
    }
