"""What a storefront may sell and how pushes are planned (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.inventory.rules import Quantities

MAX_QUANTITIES_PER_CALL = 250
"""Shopify rejects any input array longer than this."""


def quantity_to_publish(level: Quantities, buffer: int) -> int:
    """What the storefront may sell of this level."""
    return max(0, level.available - max(0, buffer))


@dataclass(frozen=True, slots=True)
class PendingLevel:
    """A level the storefront must be told about: the outbox row and what it maps to."""

    sku_id: int
    location_id: int
    generation: int
    changed_at: datetime
    sku: str
    location: str
    quantities: Quantities
    external_item_id: str
    external_location_id: str


@dataclass(frozen=True, slots=True)
class LevelPush:
    """One quantity in an `inventorySetQuantities` call."""

    level: PendingLevel
    quantity: int

    @property
    def target(self) -> tuple[str, str]:
        return (self.level.external_item_id, self.level.external_location_id)


def plan_pushes(
    pending: Iterable[PendingLevel], buffer: int, per_call: int = MAX_QUANTITIES_PER_CALL
) -> list[list[LevelPush]]:
    """Batches of at most `per_call` pushes, one per Shopify level (item, location).

    Shopify rejects a whole call that names one level twice, so a second row for the same
    level (two SKUs mapped to one item, which the mappings forbid) waits for a later call.
    """
    batches: list[list[LevelPush]] = []
    deferred: list[PendingLevel] = []
    current: list[LevelPush] = []
    seen: set[tuple[str, str]] = set()
    for level in pending:
        push = LevelPush(level, quantity_to_publish(level.quantities, buffer))
        if push.target in seen:
            deferred.append(level)
            continue
        seen.add(push.target)
        current.append(push)
        if len(current) == per_call:
            batches.append(current)
            current, seen = [], set()
    if current:
        batches.append(current)
    if deferred:
        batches += plan_pushes(deferred, buffer, per_call)
    return batches


def idempotency_key(storefront_id: str, batch: Sequence[LevelPush]) -> str:
    """Deterministic for a batch's content, so a push retried after a crash replays at
    Shopify instead of applying twice; any new change (generation, time) gives a new key."""
    digest = hashlib.sha256(storefront_id.encode())
    for push in sorted(batch, key=lambda p: p.target):
        level = push.level
        digest.update(
            f"|{level.external_item_id}|{level.external_location_id}|{push.quantity}"
            f"|{level.generation}|{level.changed_at.isoformat()}".encode()
        )
    return f"omnistock-{digest.hexdigest()[:48]}"


@dataclass(frozen=True, slots=True)
class Drift:
    sku: str
    location: str
    ours: int
    theirs: int | None  # None: Shopify has no level (or does not track the item)


def find_drift(
    ours: dict[tuple[str, str], int], theirs: dict[tuple[str, str], int | None]
) -> list[Drift]:
    """Levels (sku, location) where the storefront shows something other than ours."""
    return [
        Drift(sku=sku, location=location, ours=quantity, theirs=theirs.get((sku, location)))
        for (sku, location), quantity in sorted(ours.items())
        if theirs.get((sku, location)) != quantity
    ]


def webhook_delivery_key(event_id: str | None, webhook_id: str | None) -> str | None:
    """What identifies one event across redeliveries: the event id, else the webhook id."""
    for value in (event_id, webhook_id):
        if value and value.strip():
            return value.strip()[:200]
    return None


def sync_lag_seconds(oldest_pending: datetime | None, now: datetime) -> float:
    """How long the oldest change not yet on the storefront has been waiting."""
    if oldest_pending is None:
        return 0.0
    return max(0.0, (now - oldest_pending).total_seconds())
