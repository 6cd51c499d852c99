"""What events exist and who may read which: pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from app.platform.access import Role

STOCK_TYPES = frozenset({"stock.changed", "stock.out_of_stock", "stock.back_in_stock"})
ORDER_TYPES = frozenset(
    f"order.{name}"
    for name in (
        "created",
        "confirmed",
        "ready_for_pickup",
        "picked_up",
        "shipped",
        "cancelled",
        "expired",
        "returned",
        "at_risk",
    )
)
TRANSFER_TYPES = frozenset({"transfer.shipped", "transfer.received", "transfer.cancelled"})
EVENT_TYPES = STOCK_TYPES | ORDER_TYPES | TRANSFER_TYPES


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a reader asks for; None means any."""

    types: frozenset[str] | None = None
    location: str | None = None
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class EventScope:
    """Which events a caller may read at all, whatever it asks for.

    Admin and read-only keys read everything. Storefront and mobile keys read stock events
    and their own channel's orders. A POS key and the staff read what happens at their
    stores: stock there, orders picked up there, transfers from or to there."""

    everything: bool = False
    stock_and_channel: str | None = None
    stores: frozenset[str] = frozenset()

    @classmethod
    def of(cls, role: Role, channel: str, stores: frozenset[str]) -> EventScope:
        if role in (Role.ADMIN, Role.READONLY):
            return cls(everything=True)
        if role in (Role.STOREFRONT, Role.MOBILE):
            return cls(stock_and_channel=channel)
        return cls(stores=stores)

    def admits(
        self, *, type: str, location: str | None, other: str | None, channel: str | None
    ) -> bool:
        """Whether one event is in scope (the log's query says the same in SQL)."""
        if self.everything:
            return True
        if self.stock_and_channel is not None:
            return type in STOCK_TYPES or (
                type in ORDER_TYPES and channel == self.stock_and_channel
            )
        return bool({location, other} & self.stores)


def parse_types(raw: str | None) -> frozenset[str] | None:
    """`types=a,b` as a set; an unknown type is a mistake worth saying (ValueError)."""
    if raw is None:
        return None
    wanted = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(wanted - EVENT_TYPES)
    if unknown or not wanted:
        raise ValueError(
            f"unknown event types: {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(sorted(EVENT_TYPES))}"
        )
    return wanted
