"""Request and response bodies of the POS."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from msgspec import Meta, Struct

from app.orders.schemas import Email
from app.platform.http.schemas import Code, LineQuantity, Money


class PosLineIn(Struct, forbid_unknown_fields=True):
    sku: Code
    quantity: LineQuantity
    unit_price_minor: Money


class PosCustomerIn(Struct, forbid_unknown_fields=True):
    email: Email


ClientTxnId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]


class PosSaleIn(Struct, forbid_unknown_fields=True):
    client_txn_id: ClientTxnId
    location: Code
    occurred_at: datetime
    lines: Annotated[list[PosLineIn], Meta(min_length=1, max_length=500)]
    customer: PosCustomerIn | None = None


class PosSaleBatchIn(Struct, forbid_unknown_fields=True):
    sales: Annotated[list[PosSaleIn], Meta(min_length=1, max_length=500)]


class PosBatchResult(Struct):
    status: int
    body: dict[str, Any]


class PosBatchOut(Struct):
    results: list[PosBatchResult]


class PosReturnIn(Struct, forbid_unknown_fields=True):
    client_txn_id: ClientTxnId
    location: Code
    lines: Annotated[list[PosLineIn], Meta(min_length=1, max_length=500)]
    original_order_id: UUID | None = None
    occurred_at: datetime | None = None
