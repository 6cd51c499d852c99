"""What a use case asks of the ledger: a `Change` of one level, named by its intent.

Each verb says which rule of `app/inventory/rules.py` gives the delta, which movement kind is
written and which guard `Ledger.apply` checks, e.g. `Change.reserve(key, 2, principal,
sku="TEE-M", location="LDN-OXF", reference="order:...")`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from app.inventory import rules
from app.inventory.rules import Delta, Guard, LevelKey, MovementKind, Quantities
from app.platform.access import Channel, Principal


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a movement is recorded for: the channel it came through, as stored, and who acted."""

    channel: str
    name: str

    @classmethod
    def of(cls, principal: Principal, channel: Channel | None = None) -> Actor:
        """`principal`, acting through its own channel or through `channel` (an order's)."""
        return cls((channel or principal.channel).value, principal.actor)


SYSTEM = Actor(Channel.SYSTEM.value, "system")
"""The service itself, e.g. re-sourcing an order whose units the counter sold."""

By = Principal | Actor
"""Who acted: a caller, for its own channel, or an explicit `Actor`."""


@dataclass(frozen=True, slots=True)
class _Verb:
    """A change that one rule makes of a quantity, written as one kind under one guard."""

    delta: Callable[[int], Delta]
    kind: MovementKind
    guard: Guard

    def __call__(
        self,
        key: LevelKey,
        quantity: int,
        by: By,
        *,
        sku: str,
        location: str,
        reference: str | None,
        reason: str | None = None,
    ) -> Change:
        actor = Actor.of(by) if isinstance(by, Principal) else by
        return Change(
            key=key,
            delta=self.delta(quantity),
            kind=self.kind.value,
            guard=self.guard,
            channel=actor.channel,
            actor=actor.name,
            sku=sku,
            location=location,
            reference=reference,
            reason=reason,
        )


@dataclass(frozen=True, slots=True)
class Change:
    key: LevelKey
    delta: Delta
    kind: str
    guard: Guard
    channel: str  # Channel.value: what the movement row stores
    actor: str
    sku: str  # codes, for error messages and the response
    location: str
    reference: str | None = None
    reason: str | None = None

    reserve = _Verb(rules.reservation, MovementKind.RESERVATION, Guard.AVAILABLE)
    """Promise units to a remote order, out of what is available."""

    release = _Verb(rules.release, MovementKind.RELEASE, Guard.NONE)
    """Give an order's promised units back (cancelled, expired, re-sourced)."""

    hold = _Verb(rules.reservation, MovementKind.CART_HOLD, Guard.AVAILABLE)
    """Hold units at a store for a shopper's cart: reserved, out of what is available."""

    release_hold = _Verb(rules.release, MovementKind.CART_RELEASE, Guard.NONE)
    """A cart's held units go back (expired, changed, or consumed by its order or sale)."""

    hand_over = _Verb(rules.handover, MovementKind.HANDOVER, Guard.NONE)
    """An order's reserved units leave with the customer or the carrier."""

    sell = _Verb(rules.counter_sale, MovementKind.POS_SALE, Guard.NONE)
    """A counter sale: it already happened, so nothing guards it."""

    counter_return = _Verb(rules.restock, MovementKind.POS_RETURN, Guard.NONE)
    """Units brought back over the counter, back on the shelf."""

    restock = _Verb(rules.restock, MovementKind.RETURN, Guard.NONE)
    """Units of a returned order, back on the shelf of the store that took them."""

    receive = _Verb(rules.receipt, MovementKind.RECEIPT, Guard.NONE)
    """Units arrive at a location."""

    receive_transfer = _Verb(rules.transfer_receipt, MovementKind.TRANSFER_RECEIPT, Guard.NONE)
    """A transfer arrives: its incoming units become on hand."""

    receive_over = _Verb(
        rules.transfer_over_receipt, MovementKind.TRANSFER_OVER_RECEIPT, Guard.NONE
    )
    """More arrived than a transfer sent: the extra units are on hand, recorded as such."""

    lose_in_transit = _Verb(rules.transfer_loss, MovementKind.TRANSFER_LOST, Guard.NONE)
    """A transfer closed short: what never arrived is no longer incoming."""

    @staticmethod
    def by_hand(
        key: LevelKey,
        kind: MovementKind,
        quantity: int,
        current: Quantities,
        by: By,
        *,
        sku: str,
        location: str,
        reference: str | None = None,
        reason: str | None = None,
    ) -> Change:
        """A receipt, adjustment, damage or count posted by staff (a count carries the
        counted quantity): never below zero on hand."""
        manual = _Verb(partial(rules.manual_movement, kind, current=current), kind, Guard.ON_HAND)
        return manual(
            key, quantity, by, sku=sku, location=location, reference=reference, reason=reason
        )

    @staticmethod
    def count(
        key: LevelKey,
        counted: int,
        current: Quantities,
        by: By,
        *,
        sku: str,
        location: str,
        reference: str | None = None,
    ) -> Change:
        """Staff counted `counted` units on hand; the movement records the difference."""
        return Change.by_hand(
            key,
            MovementKind.COUNT,
            counted,
            current,
            by,
            sku=sku,
            location=location,
            reference=reference,
        )

    @staticmethod
    def set_safety_stock(
        key: LevelKey, safety_stock: int, current: Quantities, by: By, *, sku: str, location: str
    ) -> Change:
        """Hold `safety_stock` units back from remote channels."""
        verb = _Verb(
            partial(rules.safety_stock_change, current=current),
            MovementKind.SAFETY_STOCK,
            Guard.NONE,
        )
        return verb(key, safety_stock, by, sku=sku, location=location, reference=None)

    @staticmethod
    def dispatch(
        source: LevelKey,
        target: LevelKey,
        quantity: int,
        by: By,
        *,
        sku: str,
        from_location: str,
        to_location: str,
        reference: str,
    ) -> tuple[Change, Change]:
        """A transfer leaves: out of the source's unreserved units, incoming at the target."""
        return (
            _SENT(source, quantity, by, sku=sku, location=from_location, reference=reference),
            _IN_TRANSIT(target, quantity, by, sku=sku, location=to_location, reference=reference),
        )

    @staticmethod
    def recall(
        source: LevelKey,
        target: LevelKey,
        quantity: int,
        by: By,
        *,
        sku: str,
        from_location: str,
        to_location: str,
        reference: str,
    ) -> tuple[Change, Change]:
        """A transfer in transit is cancelled: back on hand at the source, no longer incoming
        at the target."""
        return (
            _RETURNED(source, quantity, by, sku=sku, location=from_location, reference=reference),
            _RECALLED(target, quantity, by, sku=sku, location=to_location, reference=reference),
        )


_RETURNED = _Verb(
    lambda units: rules.transfer_recall(units)[0], MovementKind.TRANSFER_RETURN, Guard.NONE
)

_RECALLED = _Verb(
    lambda units: rules.transfer_recall(units)[1], MovementKind.TRANSFER_CANCEL, Guard.NONE
)

_SENT = _Verb(
    lambda units: rules.transfer_dispatch(units)[0], MovementKind.TRANSFER_OUT, Guard.FREE
)

_IN_TRANSIT = _Verb(
    lambda units: rules.transfer_dispatch(units)[1], MovementKind.TRANSFER_IN_TRANSIT, Guard.NONE
)
