"""What a caller asks for when placing an order."""

from __future__ import annotations

from dataclasses import dataclass

from app.orders.model import (
    Fulfilment,
)


@dataclass(frozen=True, slots=True)
class ShipAddress:
    line1: str
    city: str
    postal_code: str
    country: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class NewOrder:
    email: str
    lines: list[tuple[str, int]]
    fulfilment: Fulfilment
    pickup_location: str | None = None
    address: ShipAddress | None = None
    name: str | None = None
    phone: str | None = None
    notes: str | None = None
    channel: str | None = None
    external_id: str | None = None
