"""What may be sold: quantities, deltas, guards and the movement kinds of the ledger (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from app.platform.errors import BusinessRuleViolation, InsufficientStock, InvalidTransition


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    DAMAGE = "damage"
    COUNT = "count"
    SAFETY_STOCK = "safety_stock"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN_TRANSIT = "transfer_in_transit"
    TRANSFER_RECEIPT = "transfer_receipt"
    TRANSFER_OVER_RECEIPT = "transfer_over_receipt"
    TRANSFER_LOST = "transfer_lost"
    TRANSFER_CANCEL = "transfer_cancel"
    TRANSFER_RETURN = "transfer_return"
    RESERVATION = "reservation"
    RELEASE = "release"
    HANDOVER = "handover"
    POS_SALE = "pos_sale"
    POS_RETURN = "pos_return"
    RETURN = "return"
    CART_HOLD = "cart_hold"
    CART_RELEASE = "cart_release"


MANUAL_KINDS = frozenset(
    {MovementKind.RECEIPT, MovementKind.ADJUSTMENT, MovementKind.DAMAGE, MovementKind.COUNT}
)
"""Kinds a person may post directly to `POST /v1/stock/movements`."""


class Guard(StrEnum):
    """How far a change may take a level down. Checked on the level *after* the change."""

    NONE = "none"
    ON_HAND = "on_hand"  # on_hand >= 0: a person cannot remove what is not there
    FREE = "free"  # on_hand - reserved >= 0: units promised to orders stay put
    AVAILABLE = "available"  # on_hand - reserved - safety_stock >= 0: remote channels sell this


@dataclass(frozen=True, slots=True)
class Quantities:
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    incoming: int = 0

    @property
    def available(self) -> int:
        """What remote channels (web, mobile, Shopify) may sell."""
        return max(0, self.on_hand - self.reserved - self.safety_stock)

    @property
    def free(self) -> int:
        """Units not promised to any order; what may leave the location by hand."""
        return self.on_hand - self.reserved

    def after(self, delta: Delta) -> Quantities:
        return Quantities(
            on_hand=self.on_hand + delta.on_hand,
            reserved=self.reserved + delta.reserved,
            safety_stock=self.safety_stock + delta.safety_stock,
            incoming=self.incoming + delta.incoming,
        )


@dataclass(frozen=True, slots=True)
class Delta:
    on_hand: int = 0
    reserved: int = 0
    safety_stock: int = 0
    incoming: int = 0

    @property
    def is_zero(self) -> bool:
        return not (self.on_hand or self.reserved or self.safety_stock or self.incoming)


def check_guard(sku: str, location: str, current: Quantities, delta: Delta, guard: Guard) -> None:
    """Raise `InsufficientStock` when `delta` would break `guard` on this level."""
    after = current.after(delta)
    if after.incoming < 0 or after.safety_stock < 0 or after.reserved < 0:
        raise InsufficientStock(
            f"{sku} at {location}: the change would take a quantity below zero",
            {"sku": sku, "location": location},
        )
    if guard is Guard.ON_HAND and after.on_hand < 0 and delta.on_hand < 0:
        raise InsufficientStock(
            f"{sku} at {location}: only {current.on_hand} on hand, cannot remove {-delta.on_hand}",
            {
                "sku": sku,
                "location": location,
                "on_hand": current.on_hand,
                "requested": -delta.on_hand,
            },
        )
    if (
        guard is Guard.AVAILABLE
        and delta.reserved > 0
        and (after.on_hand - after.reserved - after.safety_stock < 0)
    ):
        raise InsufficientStock(
            f"{sku} at {location}: only {current.available} available, "
            f"cannot reserve {delta.reserved}",
            {
                "sku": sku,
                "location": location,
                "available": current.available,
                "requested": delta.reserved,
            },
        )
    if guard is Guard.FREE and after.free < 0 and delta.on_hand < 0:
        raise InsufficientStock(
            f"{sku} at {location}: only {max(0, current.free)} unreserved units, "
            f"cannot move {-delta.on_hand}",
            {
                "sku": sku,
                "location": location,
                "free": max(0, current.free),
                "requested": -delta.on_hand,
            },
        )


def manual_movement(kind: MovementKind, quantity: int, current: Quantities) -> Delta:
    """The change a receipt, adjustment, damage or count posted by a person makes.

    A count carries the counted on-hand quantity; its movement records the difference.
    """
    if kind not in MANUAL_KINDS:
        raise BusinessRuleViolation(f"movement kind {kind!r} cannot be posted by hand")
    if kind is MovementKind.RECEIPT:
        return receipt(quantity)
    if kind is MovementKind.DAMAGE:
        if quantity <= 0:
            raise BusinessRuleViolation("a damage needs a positive quantity")
        return Delta(on_hand=-quantity)
    if kind is MovementKind.ADJUSTMENT:
        if quantity == 0:
            raise BusinessRuleViolation("an adjustment of zero changes nothing")
        return Delta(on_hand=quantity)
    if quantity < 0:
        raise BusinessRuleViolation("a counted quantity cannot be negative")
    return Delta(on_hand=quantity - current.on_hand)


def receipt(quantity: int) -> Delta:
    """Units arrive at a location."""
    if quantity <= 0:
        raise BusinessRuleViolation("a receipt needs a positive quantity")
    return Delta(on_hand=quantity)


def safety_stock_change(new_safety_stock: int, current: Quantities) -> Delta:
    if new_safety_stock < 0:
        raise BusinessRuleViolation("safety stock cannot be negative")
    return Delta(safety_stock=new_safety_stock - current.safety_stock)


def transfer_dispatch(quantity: int) -> tuple[Delta, Delta]:
    """(change at the source, change at the destination) when a transfer leaves."""
    if quantity <= 0:
        raise BusinessRuleViolation("a transfer line needs a positive quantity")
    return Delta(on_hand=-quantity), Delta(incoming=quantity)


def transfer_receipt(quantity: int) -> Delta:
    """The change at the destination when a transfer arrives: incoming becomes on hand."""
    return Delta(on_hand=quantity, incoming=-quantity)


def transfer_over_receipt(quantity: int) -> Delta:
    """Units that arrived beyond what was sent: on hand, never from `incoming`."""
    return Delta(on_hand=quantity)


def transfer_loss(quantity: int) -> Delta:
    """A transfer closed short: what never arrived stops being incoming (lost in transit)."""
    return Delta(incoming=-quantity)


def transfer_recall(quantity: int) -> tuple[Delta, Delta]:
    """(change at the source, change at the destination) when a transfer in transit is
    cancelled: the units go back on hand where they came from."""
    return Delta(on_hand=quantity), Delta(incoming=-quantity)


@dataclass(frozen=True, slots=True)
class TransferLineState:
    """One line of a transfer: `sent` units left the source; of them `received` arrived
    (more is an over-receipt), `lost` were written off, `returned` went back on a cancel."""

    sent: int
    received: int = 0
    lost: int = 0
    returned: int = 0

    @property
    def in_transit(self) -> int:
        """Still `incoming` at the destination."""
        return max(0, self.sent - self.received - self.lost - self.returned)

    @property
    def over_received(self) -> int:
        return max(0, self.received - self.sent)

    def receipt(self, units: int) -> tuple[int, int]:
        """(units that come out of `incoming`, units over what was sent) of a receipt."""
        if units <= 0:
            raise BusinessRuleViolation("a received quantity must be positive")
        from_transit = min(units, self.in_transit)
        return from_transit, units - from_transit


class TransferStatus(StrEnum):
    DRAFT = "draft"  # nothing has moved
    IN_TRANSIT = "in_transit"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"  # everything arrived, or the shortfall was written off
    CANCELLED = "cancelled"


_TRANSFER_ACTIONS = {
    "ship": {TransferStatus.DRAFT},
    "receive": {TransferStatus.IN_TRANSIT, TransferStatus.PARTIALLY_RECEIVED},
    "cancel": {
        TransferStatus.DRAFT,
        TransferStatus.IN_TRANSIT,
        TransferStatus.PARTIALLY_RECEIVED,
    },
}


def check_transfer_action(status: str, action: str) -> None:
    """Raise `InvalidTransition` unless a transfer in `status` may be `action`ed."""
    if status not in _TRANSFER_ACTIONS[action]:
        done = {"ship": "shipped", "receive": "received", "cancel": "cancelled"}[action]
        raise InvalidTransition(f"a transfer that is {status} cannot be {done}", {"status": status})


def status_after_receipt(lines: list[TransferLineState]) -> TransferStatus:
    return (
        TransferStatus.RECEIVED
        if all(line.in_transit == 0 for line in lines)
        else TransferStatus.PARTIALLY_RECEIVED
    )


@dataclass(frozen=True, slots=True)
class CountFigures:
    """A counted line against the ledger. `counted` is the shelf as the ledger stood at the
    line's point (`as_of`); `moved_since` is the on-hand change of the movements after it, so
    a sale during the count moves both sides and makes no variance."""

    expected: int  # on hand now: on hand at the line's point plus what moved since
    moved_since: int
    counted: int | None

    @property
    def variance(self) -> int | None:
        if self.counted is None:
            return None
        return self.counted + self.moved_since - self.expected

    def counted_now(self, sku: str) -> int:
        """The on-hand quantity the count sets now."""
        assert self.counted is not None
        now = self.counted + self.moved_since
        if now < 0:
            raise BusinessRuleViolation(
                f"{sku}: more left after the count than was counted; count it again",
                {"sku": sku, "counted": self.counted, "moved_since": self.moved_since},
            )
        return now


def reservation(quantity: int) -> Delta:
    """Promise units to a remote order; guarded by `Guard.AVAILABLE`."""
    return Delta(reserved=quantity)


def release(quantity: int) -> Delta:
    """An order gave its promised units back (cancelled, expired, re-sourced)."""
    return Delta(reserved=-quantity)


def handover(quantity: int) -> Delta:
    """Reserved units leave the building with the customer or the carrier."""
    return Delta(on_hand=-quantity, reserved=-quantity)


def counter_sale(quantity: int) -> Delta:
    """A sale at the till already happened: it is recorded whatever the ledger thought."""
    return Delta(on_hand=-quantity)


def restock(quantity: int) -> Delta:
    """Returned units back on the shelf where they were returned."""
    return Delta(on_hand=quantity)


def fold(deltas: list[Delta]) -> Quantities:
    """Replay movements from zero: the level they project to."""
    level = Quantities()
    for delta in deltas:
        level = level.after(delta)
    return level


@dataclass(frozen=True, slots=True, order=True)
class LevelKey:
    location_id: int
    sku_id: int


class Guarded(Protocol):
    """A change as its guard is checked (`app.inventory.changes.Change`)."""

    @property
    def sku(self) -> str: ...
    @property
    def location(self) -> str: ...
    @property
    def key(self) -> LevelKey: ...
    @property
    def delta(self) -> Delta: ...
    @property
    def guard(self) -> Guard: ...


def refuse_if_short(changes: Sequence[Guarded], levels: Mapping[LevelKey, Quantities]) -> None:
    """Raise `InsufficientStock` naming every change `levels` cannot take (not just the first)."""
    shortages = []
    for change in changes:
        try:
            check_guard(change.sku, change.location, levels[change.key], change.delta, change.guard)
        except InsufficientStock as exc:
            shortages.append(exc.details)
    if shortages:
        raise InsufficientStock("not enough stock for this order", {"short": shortages})
