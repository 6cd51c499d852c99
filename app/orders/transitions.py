"""Moving an order to its next status, with its event."""

from __future__ import annotations

from typing import Any

import structlog

from app.orders.model import OrderStatus, next_status
from app.orders.repository import OrderRepository
from app.orders.tables import Order
from app.platform.tables import utcnow
from app.platform.uow import UnitOfWork

log = structlog.get_logger("omnistock.orders")


# Helpers ------------------------------------------------------------------------------------
def _transition(
    uow: UnitOfWork,
    order: Order,
    action: str,
    channel: str,
    actor: str,
    summary: str,
    location_id: int | None = None,
) -> None:
    target = next_status(action, order.status, order.fulfilment_type)
    order.status = target.value
    now = utcnow()
    order.updated_at = now
    if target is OrderStatus.CONFIRMED:
        order.confirmed_at = now
    OrderRepository.of(uow).add_event(
        event=target.value,
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
