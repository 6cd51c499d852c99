"""Pure rules: why a pushed quantity changed, in Shopify's words, and which of our documents
changed it (`reason` and `referenceDocumentUri` of `inventorySetQuantities`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote

T = TypeVar("T")

MIXED_REASON = "correction"
"""A call whose quantities changed for different reasons (Shopify takes one per call)."""

SMALL_ROUND_CALLS = 3
"""How many calls a round of at most one call's worth of levels may become, one a reason."""

REASON_BY_KIND: dict[str, str] = {
    "receipt": "received",
    "adjustment": "correction",
    "damage": "damaged",
    "count": "cycle_count_available",
    "safety_stock": "safety_stock",
    "transfer_out": "movement_created",
    "transfer_in_transit": "movement_created",
    "transfer_receipt": "movement_received",
    "transfer_over_receipt": "movement_received",
    "transfer_return": "movement_received",
    "transfer_cancel": "movement_canceled",
    "transfer_lost": "shrinkage",
    "reservation": "reservation_created",
    "release": "reservation_deleted",
    "handover": "other",
    "pos_sale": "other",
    "pos_return": "restock",
    "return": "restock",
}
"""Our movement kinds and the reason Shopify's inventory history shows for each; a level
whose last movement is unknown (a resync, a mapping) is a `correction`."""

DOCUMENT_TYPES = {
    "order": "Order",
    "transfer": "Transfer",
    "count": "CountSession",
    "pos": "PosTransaction",
}


@dataclass(frozen=True, slots=True)
class Cause:
    """The last movement of a level: what changed its available quantity."""

    movement_id: int
    kind: str
    reference: str | None


def reason_for(cause: Cause | None) -> str:
    return REASON_BY_KIND.get(cause.kind, "correction") if cause else "correction"


def document_uri(cause: Cause) -> str:
    """`gid://omnistock/Order/<id>` for a movement made for one of our documents,
    `gid://omnistock/StockMovement/<id>` for one made on its own."""
    if cause.reference and ":" in cause.reference:
        prefix, _, ident = cause.reference.partition(":")
        if ident:
            kind = DOCUMENT_TYPES.get(prefix, prefix[:1].upper() + prefix[1:])
            return f"gid://omnistock/{quote(kind, safe='')}/{quote(ident, safe='')}"
    return f"gid://omnistock/StockMovement/{cause.movement_id}"


def batch_uri(causes: Iterable[Cause | None], fallback: str) -> str:
    """The one document every level of a call changed for, else `fallback` (the call)."""
    uris = {document_uri(c) if c else None for c in causes}
    if len(uris) == 1:
        only = uris.pop()
        if only is not None:
            return only
    return fallback


def group_by_reason(
    levels: Sequence[T], reasons: Sequence[str], per_call: int
) -> list[tuple[str, list[T]]]:
    """Calls of at most `per_call` levels (`reasons` says each one's), one reason a call
    where it can.

    A small round (one call's worth) is split by reason, up to SMALL_ROUND_CALLS calls: a
    few cheap calls whose history says exactly why. A larger round (a burst) keeps the
    minimum number of calls, ceil(levels / per_call): full calls of one reason first, then
    the remainders together, a mixed call saying MIXED_REASON."""
    by_reason: dict[str, list[T]] = {}
    for level, reason in zip(levels, reasons, strict=True):
        by_reason.setdefault(reason, []).append(level)
    if len(levels) <= per_call and len(by_reason) <= SMALL_ROUND_CALLS:
        return list(by_reason.items())
    calls: list[tuple[str, list[T]]] = []
    rest: list[tuple[str, T]] = []
    for reason, items in by_reason.items():
        full = len(items) - len(items) % per_call
        calls += [(reason, items[i : i + per_call]) for i in range(0, full, per_call)]
        rest += [(reason, level) for level in items[full:]]
    for start in range(0, len(rest), per_call):
        chunk = rest[start : start + per_call]
        named = {reason for reason, _ in chunk}
        calls.append((named.pop() if len(named) == 1 else MIXED_REASON, [x for _, x in chunk]))
    return calls
