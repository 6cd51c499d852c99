"""What the live stream carries: an event read once and encoded once for every subscriber,
and which subscriber it is for."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from app.events.model import EventFilter, EventScope

if TYPE_CHECKING:
    from app.events.log_repository import EventView


@dataclass(slots=True)
class LiveEvent:
    """One event of the log as the stream sends it: `body` is the event's JSON (the contract's
    `{seq, id, type, occurred_at, data}`), made once however many subscribers it goes to; the
    other fields decide who gets it. `wire` is the HTTP layer's encoding, kept for the next
    subscriber."""

    seq: int
    type: str
    body: str
    location: str | None = None
    other_location: str | None = None
    sku: str | None = None
    channel: str | None = None
    wire: bytes | None = None

    @classmethod
    def of(
        cls,
        view: EventView,
        *,
        location: str | None = None,
        other_location: str | None = None,
        sku: str | None = None,
        channel: str | None = None,
    ) -> LiveEvent:
        return cls(
            seq=view.seq,
            type=view.type,
            body=json.dumps(view.as_json(), separators=(",", ":"), default=str),
            location=location,
            other_location=other_location,
            sku=sku,
            channel=channel,
        )


def is_for(event: LiveEvent, scope: EventScope, wanted: EventFilter) -> bool:
    """Whether a subscriber of `scope` asking for `wanted` gets `event` (what the log's
    `read` says in SQL, for an event already read)."""
    if wanted.types is not None and event.type not in wanted.types:
        return False
    if wanted.location is not None and wanted.location not in (
        event.location,
        event.other_location,
    ):
        return False
    if wanted.sku is not None and event.sku != wanted.sku:
        return False
    return scope.admits(
        type=event.type,
        location=event.location,
        other=event.other_location,
        channel=event.channel,
    )


class Marker(Enum):
    """What a stream sends besides events."""

    LIVE = "live"
    """Caught up with the log: from here on, events as they commit."""
    HEARTBEAT = "heartbeat"
    """Nothing to send for a while: a comment, so proxies and clients keep the connection."""
