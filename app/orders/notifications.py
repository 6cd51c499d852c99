"""Use cases of the notification outbox: list, send what is pending."""

from __future__ import annotations

import asyncio
import smtplib
import uuid

import structlog

from app.orders.context import OrderContext
from app.orders.outbox_repository import OutboxRepository
from app.orders.tables import Notification
from app.platform.access import Permission, Principal
from app.platform.context import Context
from app.platform.tables import utcnow

log = structlog.get_logger("omnistock.notifications")


async def list_notifications(
    ctx: Context, principal: Principal, order_id: uuid.UUID | None, limit: int
) -> list[Notification]:
    principal.require(Permission.READ_NOTIFICATIONS)
    async with ctx.uow(readonly=True) as uow:
        return await OutboxRepository.of(uow).notifications(order_id, limit)


async def send_pending(ctx: OrderContext, limit: int = 100) -> int:
    """Send what is waiting, oldest first. Each message is locked while it is sent, so
    concurrent senders never send one twice; a failure is counted and retried later."""
    sent = 0
    for _ in range(limit):
        async with ctx.uow() as uow:
            message = await OutboxRepository.of(uow).unsent_notification()
            if message is None:
                break
            try:
                await asyncio.to_thread(ctx.sender.send, message.to, message.subject, message.body)
            except (OSError, smtplib.SMTPException) as exc:
                message.attempts += 1
                message.last_error = str(exc)[:500]
                log.warning("notification failed", id=str(message.id), error=str(exc))
            else:
                message.attempts += 1
                message.sent_at = utcnow()
                sent += 1
            await uow.commit()
    return sent
