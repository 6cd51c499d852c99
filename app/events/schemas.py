"""The event log on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct


class EventOut(Struct):
    seq: int
    id: str
    type: str
    occurred_at: datetime
    data: dict[str, Any]


class EventPageOut(Struct):
    items: list[EventOut]
    next_after: int
