"""What order use cases are given: transactions, payments, a message sender and the policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.orders.ports import PaymentProvider, Sender
from app.platform.context import Context
from app.platform.secrets import Secrets


@dataclass(frozen=True, kw_only=True)
class OrderContext(Context):
    payments: PaymentProvider
    sender: Sender
    secrets: Secrets
    """Seals what waits at rest in clear otherwise (the pickup code in its notification)."""
    payment_timeout: timedelta = timedelta(seconds=900)
    pickup_hold: timedelta = timedelta(hours=168)
    warehouses_first: bool = True
    max_order_units: int = 10_000
    """Units in one order, every channel (MAX_ORDER_UNITS)."""
    max_open_unpaid_orders: int = 3
    """Open unpaid orders one customer email may have from the web and the app
    (MAX_OPEN_UNPAID_ORDERS)."""
    cart_hold: timedelta = timedelta(minutes=30)
    """How long a cart holds its units at a store, and one extension adds (CART_HOLD_MINUTES)."""
    max_held_units: int = 20
    """Units one customer may hold in carts at a time (MAX_HELD_UNITS)."""
