"""Plain records of one shop's inventory: locations, items, levels, adjustment groups, orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shopify_emulator.gids import level_gid, make_gid

# The eight names Shopify exposes; `on_hand` is derived, `incoming` is outside on_hand.
QUANTITY_NAMES: tuple[str, ...] = (
    "available",
    "incoming",
    "committed",
    "damaged",
    "on_hand",
    "quality_control",
    "reserved",
    "safety_stock",
)
ON_HAND_COMPONENTS: tuple[str, ...] = (
    "available",
    "committed",
    "reserved",
    "damaged",
    "safety_stock",
    "quality_control",
)
STORED_NAMES: tuple[str, ...] = (*ON_HAND_COMPONENTS, "incoming")


@dataclass
class Location:
    id: int
    name: str
    is_active: bool = True

    @property
    def gid(self) -> str:
        return make_gid("Location", self.id)


@dataclass
class InventoryItem:
    id: int
    sku: str | None
    tracked: bool
    variant_id: int
    product_id: int
    created_at: str
    updated_at: str
    barcode: str | None = None

    @property
    def gid(self) -> str:
        return make_gid("InventoryItem", self.id)


@dataclass
class InventoryLevel:
    """Stores the six on_hand components plus `incoming`; on_hand is always their sum,
    so the invariant cannot drift."""

    item_id: int
    location_id: int
    created_at: str
    updated_at: str
    stored: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STORED_NAMES, 0))

    @property
    def gid(self) -> str:
        return level_gid(self.location_id, self.item_id)

    @property
    def on_hand(self) -> int:
        return sum(self.stored[name] for name in ON_HAND_COMPONENTS)

    def quantity(self, name: str) -> int:
        return self.on_hand if name == "on_hand" else self.stored[name]

    def snapshot(self) -> dict[str, int]:
        return {name: self.quantity(name) for name in QUANTITY_NAMES}


@dataclass(frozen=True)
class QuantityChange:
    name: str
    delta: int
    quantity_after_change: int
    item_id: int
    location_id: int
    ledger_document_uri: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "delta": self.delta,
            "quantity_after_change": self.quantity_after_change,
            "inventory_item_id": make_gid("InventoryItem", self.item_id),
            "location_id": make_gid("Location", self.location_id),
            "ledger_document_uri": self.ledger_document_uri,
        }


@dataclass(frozen=True)
class AdjustmentGroup:
    """One applied change set: what the audit log records and what mutations return."""

    id: int
    created_at: str
    reason: str
    reference_document_uri: str | None
    changes: tuple[QuantityChange, ...]
    source: str  # graphql | manual_edit | order
    mutation: str | None = None
    quantity_name: str | None = None
    idempotency_key: str | None = None
    api_version: str | None = None

    @property
    def gid(self) -> str:
        return make_gid("InventoryAdjustmentGroup", self.id)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.gid,
            "created_at": self.created_at,
            "reason": self.reason,
            "reference_document_uri": self.reference_document_uri,
            "source": self.source,
            "mutation": self.mutation,
            "name": self.quantity_name,
            "idempotency_key": self.idempotency_key,
            "api_version": self.api_version,
            "changes": [change.to_json() for change in self.changes],
        }


@dataclass
class OrderLine:
    id: int
    item_id: int
    sku: str | None
    quantity: int
    price: str
    variant_id: int
    product_id: int
    title: str
    fulfilled: int = 0
    removed: int = 0  # refunded before fulfilment (restock type `cancel`)

    @property
    def fulfillable(self) -> int:
        return self.quantity - self.fulfilled - self.removed


@dataclass(frozen=True)
class FulfillmentRecord:
    id: int
    created_at: str
    location_id: int
    lines: tuple[tuple[int, int], ...]  # (order line id, quantity)


@dataclass(frozen=True)
class RefundLine:
    line_id: int
    quantity: int
    restock_type: str  # no_restock | cancel | return
    location_id: int | None


@dataclass(frozen=True)
class RefundRecord:
    id: int
    created_at: str
    note: str | None
    lines: tuple[RefundLine, ...]


@dataclass
class Order:
    id: int
    number: int
    location_id: int
    email: str
    currency: str
    customer: dict[str, Any]
    lines: list[OrderLine]
    created_at: str
    updated_at: str
    financial_status: str
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    fulfillment_status: str | None = None
    fulfillments: list[FulfillmentRecord] = field(default_factory=list)
    refunds: list[RefundRecord] = field(default_factory=list)

    @property
    def gid(self) -> str:
        return make_gid("Order", self.id)
