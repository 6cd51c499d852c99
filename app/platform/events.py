"""What a change tells the world: events a use case emits into its unit of work.

A repository or use case calls `uow.emit(OutgoingEvent(...))`; the unit of work hands the
events of the transaction to the listeners of `EVENTS_COMMITTING` as the last step before the
commit (the event log in `app/events/` writes them, numbered, in the same transaction), so an
event exists if and only if its change committed. Events emitted inside a savepoint that rolls
back are dropped with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EVENTS_COMMITTING = "events_committing"
"""Told, last before the commit, the events the transaction emitted (in order)."""


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """One event as its change describes it. Where a code is not at hand the id is given
    instead and the event log resolves it (`location_id` -> `location`, `sku_id` -> `sku`);
    a resolved code is also added to `data` under the same name when `data` asks for it by
    holding the key with the value None."""

    type: str
    occurred_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    location: str | None = None
    location_id: int | None = None
    other_location: str | None = None
    sku: str | None = None
    sku_id: int | None = None
    channel: str | None = None
