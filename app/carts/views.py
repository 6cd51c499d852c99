"""What a cart looks like to every channel, built inside the transaction that read it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.carts.repository import CartRepository, LineRow
from app.carts.tables import Cart
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class HoldView:
    location: str
    held_until: datetime
    extended: bool


@dataclass(frozen=True, slots=True)
class CartView:
    id: uuid.UUID
    code: str
    customer_id: uuid.UUID
    status: str
    lines: list[LineRow]
    hold: HoldView | None
    order_id: uuid.UUID | None
    channel_history: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


async def cart_view(uow: UnitOfWork, cart: Cart, lines: list[LineRow] | None = None) -> CartView:
    carts = CartRepository.of(uow)
    lines = await carts.lines(cart.id) if lines is None else lines
    location = await carts.location_code(cart.hold_location_id)
    hold = (
        HoldView(location, cart.held_until, cart.extended)
        if location is not None and cart.held_until is not None
        else None
    )
    return CartView(
        cart.id,
        cart.code,
        cart.customer_id,
        cart.status,
        lines,
        hold,
        cart.order_id,
        list(cart.history or []),
        cart.created_at,
        cart.updated_at,
    )


def record_step(cart: Cart, event: str, channel: str, actor: str) -> None:
    """Append a step to the cart's own story (which channel did what, when)."""
    now = utcnow()
    cart.history = [
        *(cart.history or []),
        {"at": now.isoformat(), "channel": channel, "event": event, "actor": actor},
    ]
    cart.updated_at = now
