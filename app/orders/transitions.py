"""The events and messages that go with an order's status changes."""

from __future__ import annotations

from typing import Any

from app.orders.repository import OrderRepository
from app.orders.tables import Order
from app.platform.uow import UnitOfWork


# Helpers ------------------------------------------------------------------------------------
def _record_transition(
    uow: UnitOfWork,
    order: Order,
    channel: str,
    actor: str,
    summary: str,
    location_id: int | None = None,
) -> None:
    """The event of the status change an order method just made (`order.confirm(now)`, ...):
    who, which channel, where, and why."""
    OrderRepository.of(uow).add_event(
        event=order.status,
        channel=channel,
        actor=actor,
        order_id=order.id,
        customer_id=order.customer_id,
        location_id=location_id,
        summary=f"{order.number}: {summary}",
    )


def _notify_confirmed(uow: UnitOfWork, order: Order, customer: Any) -> None:
    OrderRepository.of(uow).add_notification(
        order_id=order.id,
        kind="confirmed",
        to=customer.email,
        subject=f"Order {order.number} confirmed",
        body=f"Thank you. Order {order.number} ({order.total_minor / 100:.2f} "
        f"{order.currency}) is confirmed.",
    )
