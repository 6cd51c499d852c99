"""Use cases of the notification outbox: list, send what is pending."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from app.orders.context import OrderContext
from app.orders.outbox_repository import OutboxRepository
from app.orders.ports import SendFailed
from app.platform.access import Permission, Principal
from app.platform.secrets import unseal
from app.platform.tables import utcnow
from app.platform.views import view_of

log = structlog.get_logger("omnistock.notifications")


@dataclass(frozen=True, slots=True)
class NotificationView:
    id: uuid.UUID
    order_id: uuid.UUID | None
    kind: str
    to: str
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None


async def list_notifications(
    ctx: OrderContext, principal: Principal, order_id: uuid.UUID | None, limit: int
) -> list[NotificationView]:
    """The outbox as an admin sees it, pickup codes included (they are sealed at rest)."""
    principal.require(Permission.READ_NOTIFICATIONS)
    async with ctx.uow(readonly=True, replica=True) as uow:
        return [
            view_of(NotificationView, n, body=unseal(ctx.secrets, n.body))
            for n in await OutboxRepository.of(uow).notifications(order_id, limit)
        ]


SENDING_LEASE = timedelta(minutes=2)
"""How long a claimed message is left to its sender before another may send it."""


async def send_pending(ctx: OrderContext, limit: int = 100) -> int:
    """Send what is waiting, oldest first: claim a message (one transaction), send it with no
    transaction open, record the outcome (another). Concurrent senders never take the same
    message; one that dies mid-send leaves it to be sent again once its claim lapses."""
    sent = 0
    for _ in range(limit):
        async with ctx.uow() as uow:
            message = await OutboxRepository.of(uow).claim_unsent_notification(
                utcnow(), SENDING_LEASE
            )
            if message is None:
                break
            message_id, to, subject = message.id, message.to, message.subject
            body = unseal(ctx.secrets, message.body)
            await uow.commit()
        error: str | None = None
        try:
            await asyncio.to_thread(ctx.sender.send, to, subject, body)
        except SendFailed as exc:
            error = str(exc)
            log.warning("notification failed", id=str(message_id), error=error)
        async with ctx.uow() as uow:
            await OutboxRepository.of(uow).record_sending(message_id, utcnow(), error)
            await uow.commit()
        if error is None:
            sent += 1
    return sent
