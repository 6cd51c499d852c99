"""What the books must say, as findings from numbers (pure: no SQL, no HTTP).

Four checks, each on one stock level changed since the last checkpoint:
- `fold`: the level equals its audited balance plus the deltas of its movements since;
- `reserved`: its `reserved` is what open orders' allocations and live cart holds promise;
- `event`: its change has its `stock.changed` event (with the level's version);
- `storefront`: every storefront that maps it has it pending, or was last pushed what we
  would push now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.inventory.rules import Delta, LevelKey, Quantities
from app.storefronts.rules import quantity_to_publish

FOLD = "fold"
RESERVED = "reserved"
EVENT = "event"
STOREFRONT = "storefront"
CHECKS = (FOLD, RESERVED, EVENT, STOREFRONT)

MARGIN = timedelta(minutes=5)
"""How far before the last snapshot an incremental run starts looking: covers clocks of the
API hosts (levels carry the writer's clock) that run behind the database's. Transactions in
flight at the snapshot are covered by starting from the oldest of them (`changed_after`)."""

RETENTION_SLACK = timedelta(days=1)
"""Events are checked only for changes this much younger than EVENT_RETENTION_DAYS, so a
purge running meanwhile cannot make a finding."""

MAX_IDS = 50
"""At most this many row ids of one kind are listed in a finding (the newest)."""


@dataclass(frozen=True, slots=True)
class LevelNow:
    """A stock level as the audit's snapshot reads it."""

    key: LevelKey
    quantities: Quantities
    version: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Audited:
    """A level as the last run established it from the ledger."""

    balance: Quantities = field(default_factory=Quantities)
    version: int = 0
    last_movement_id: int = 0


@dataclass(frozen=True, slots=True)
class Moved:
    """A level's movements after its audited point: their summed delta and ids."""

    delta: Delta = field(default_factory=Delta)
    count: int = 0
    ids: tuple[int, ...] = ()
    last_id: int = 0


@dataclass(frozen=True, slots=True)
class Holder:
    """Something that holds units of a level: an open order's allocation or a cart's hold."""

    kind: str  # "order" or "cart"
    id: str
    units: int


@dataclass(frozen=True, slots=True)
class StockEvent:
    """A `stock.changed` event of a level, as the event log has it."""

    seq: int
    version: int
    on_hand: int
    reserved: int
    safety_stock: int


@dataclass(frozen=True, slots=True)
class Mapping:
    """One storefront that maps a level, and what it knows of it."""

    storefront_id: str
    buffer: int
    pending: bool
    pushed: int | None
    """The quantity last pushed to it (None: no push recorded)."""


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    key: LevelKey
    summary: str
    expected: dict[str, Any]
    found: dict[str, Any]
    rows: dict[str, Any] = field(default_factory=dict)
    storefront_id: str | None = None

    @property
    def identity(self) -> tuple[str, LevelKey, str | None]:
        """What makes a finding the same one on a later run."""
        return (self.kind, self.key, self.storefront_id)


def changed_after(snapshot_at: datetime) -> datetime:
    """Where the run after a checkpoint starts looking. A level changed by a transaction
    that checkpoint's snapshot did not see carries a time at or after that transaction
    began: after `snapshot_at`, which is the snapshot's start or the start of the oldest
    transaction in flight then, whichever is earlier; less the clock margin."""
    return snapshot_at - MARGIN


def needs_examining(level: LevelNow, audited: Audited | None, moved: Moved, reopened: bool) -> bool:
    """A candidate is examined when it moved since it was audited (its version, movements
    after its audited point, or quantities no longer its audited balance), or has an open
    finding to confirm or close."""
    if reopened or audited is None:
        return True
    return (
        level.version != audited.version or moved.count > 0 or level.quantities != audited.balance
    )


def as_dict(quantities: Quantities) -> dict[str, int]:
    return {
        "on_hand": quantities.on_hand,
        "reserved": quantities.reserved,
        "safety_stock": quantities.safety_stock,
        "incoming": quantities.incoming,
    }


def add(balance: Quantities, delta: Delta) -> Quantities:
    return balance.after(delta)


def sum_deltas(deltas: Iterable[Delta]) -> Delta:
    on_hand = reserved = safety_stock = incoming = 0
    for d in deltas:
        on_hand += d.on_hand
        reserved += d.reserved
        safety_stock += d.safety_stock
        incoming += d.incoming
    return Delta(on_hand, reserved, safety_stock, incoming)


def check_fold(
    level: LevelNow, audited: Audited | None, moved: Moved
) -> tuple[Audited, Finding | None]:
    """levels = fold(movements): the audited balance plus what moved since must be the level.
    Returns the new audited point (the ledger's balance, whatever the level row says, so a
    level edited by hand stays a finding until it is put right) and the finding if any."""
    start = audited or Audited()
    expected = add(start.balance, moved.delta)
    new = Audited(expected, level.version, max(moved.last_id, start.last_movement_id))
    if expected == level.quantities:
        return new, None
    found, wanted = as_dict(level.quantities), as_dict(expected)
    differs = {name: found[name] - wanted[name] for name in found if found[name] != wanted[name]}
    finding = Finding(
        FOLD,
        level.key,
        "the level is not what its movements add up to ("
        + ", ".join(f"{name} {diff:+d}" for name, diff in differs.items())
        + ")",
        expected=wanted,
        found=found,
        rows={
            "audited_through_movement_id": start.last_movement_id,
            "audited_version": start.version,
            "level_version": level.version,
            "movements_since": moved.count,
            "movement_ids": list(moved.ids[-MAX_IDS:]),
        },
    )
    return new, finding


def check_reserved(level: LevelNow, holders: Sequence[Holder]) -> Finding | None:
    """`reserved` is exactly what open orders' allocations and live cart holds promise (the
    rule of the order and cart state machines under tests/integration)."""
    promised = sum(h.units for h in holders)
    if promised == level.quantities.reserved:
        return None
    orders = [h for h in holders if h.kind == "order"]
    carts = [h for h in holders if h.kind == "cart"]
    return Finding(
        RESERVED,
        level.key,
        f"reserved is {level.quantities.reserved} but open orders and cart holds promise "
        f"{promised}",
        expected={"reserved": promised},
        found={"reserved": level.quantities.reserved},
        rows={
            "orders": {h.id: h.units for h in orders[:MAX_IDS]},
            "carts": {h.id: h.units for h in carts[:MAX_IDS]},
        },
    )


def check_event(
    level: LevelNow,
    audited: Audited | None,
    events: Sequence[StockEvent],
    retained_after: datetime,
) -> Finding | None:
    """A changed level has a `stock.changed` event with its current version. A transaction
    that left a level as it found it bumps the version but emits nothing: then the level's
    last event (or, with none since the checkpoint, its audited balance) shows the level
    as it is. Levels last changed before `retained_after` are not checked: their events
    may have been purged."""
    if level.version == 0 or level.updated_at < retained_after:
        return None
    if any(e.version == level.version for e in events):
        return None
    q = level.quantities
    shown: tuple[int, int, int] | None = None
    if events:
        latest = max(events, key=lambda e: e.seq)
        shown = (latest.on_hand, latest.reserved, latest.safety_stock)
    elif audited is not None:
        shown = (audited.balance.on_hand, audited.balance.reserved, audited.balance.safety_stock)
    if shown == (q.on_hand, q.reserved, q.safety_stock):
        return None
    return Finding(
        EVENT,
        level.key,
        f"no stock.changed event for version {level.version} of the level",
        expected={
            "version": level.version,
            "on_hand": q.on_hand,
            "reserved": q.reserved,
            "safety_stock": q.safety_stock,
        },
        found={
            "latest_event": None
            if not events
            else {
                "seq": max(events, key=lambda e: e.seq).seq,
                "version": max(events, key=lambda e: e.seq).version,
            }
        },
        rows={
            "event_seqs": [e.seq for e in sorted(events, key=lambda e: e.seq)][-MAX_IDS:],
            "event_versions": [e.version for e in sorted(events, key=lambda e: e.seq)][-MAX_IDS:],
        },
    )


def check_storefronts(
    level: LevelNow, audited: Audited | None, mappings: Sequence[Mapping]
) -> list[Finding]:
    """Every storefront mapping a changed level has it pending, or was last pushed what we
    would push now. A level no push was ever recorded for (pushes are recorded since the
    audit exists) is owed one only if its `available` moved since the checkpoint."""
    findings = []
    for mapping in mappings:
        if mapping.pending:
            continue
        want = quantity_to_publish(level.quantities, mapping.buffer)
        if mapping.pushed == want:
            continue
        if mapping.pushed is None and (
            audited is None or audited.balance.available == level.quantities.available
        ):
            continue
        findings.append(
            Finding(
                STOREFRONT,
                level.key,
                f"storefront {mapping.storefront_id} is neither pending nor pushed the level's "
                f"quantity {want}",
                expected={"pending": True, "or_pushed": want},
                found={"pending": False, "pushed": mapping.pushed},
                rows={"storefront_id": mapping.storefront_id, "buffer": mapping.buffer},
                storefront_id=mapping.storefront_id,
            )
        )
    return findings


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one level's audit established: its new audited point and its findings."""

    audited: Audited
    findings: list[Finding]


def audit_level(
    level: LevelNow,
    audited: Audited | None,
    moved: Moved,
    holders: Sequence[Holder],
    events: Sequence[StockEvent],
    mappings: Sequence[Mapping],
    retained_after: datetime,
) -> Outcome:
    new, fold_finding = check_fold(level, audited, moved)
    findings = [f for f in (fold_finding, check_reserved(level, holders)) if f is not None]
    event_finding = check_event(level, audited, events, retained_after)
    if event_finding is not None:
        findings.append(event_finding)
    findings += check_storefronts(level, audited, mappings)
    return Outcome(new, findings)
