"""The audit on the wire: the last checkpoint, what a call checked, the findings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct


class CheckpointOut(Struct):
    id: int
    started_at: datetime
    finished_at: datetime
    snapshot_at: datetime
    """Everything committed before this was audited (the next run looks from a margin before)."""
    event_head: int
    full: bool
    levels_examined: int
    movements_read: int
    events_read: int
    findings_open: int
    actor: str


class CheckedOut(Struct):
    """What this call looked at: cost follows what changed since the checkpoint."""

    full: bool
    changed_after: datetime | None
    levels_selected: int
    levels_examined: int
    movements_read: int
    events_read: int
    findings: int
    advanced: bool
    """True when this call stored its findings and moved the checkpoint (POST .../run)."""
    checkpoint_id: int | None


class FindingOut(Struct):
    check: str
    """fold (level = its movements), reserved (= open orders and cart holds), event (a
    stock.changed with the level's version), storefront (pending or pushed)."""
    location: str
    sku: str
    summary: str
    expected: dict[str, Any]
    found: dict[str, Any]
    rows: dict[str, Any]
    """The rows involved: movement ids, order and cart ids, event seqs, the storefront."""
    storefront_id: str | None
    first_seen_at: datetime | None
    """None for a finding this call made and did not store (GET)."""
    last_seen_at: datetime | None


class AuditOut(Struct):
    checkpoint: CheckpointOut | None
    checked: CheckedOut
    open_findings: list[FindingOut]
    """Stored findings no later run has found fixed, then (GET) new ones this call found."""
