"""The notification outbox: messages are written with the order change that causes them and
sent afterwards by a worker, through the log (default) or SMTP (when configured)."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import structlog

from app.db.models import utcnow
from app.db.order_models import Notification
from app.db.session import UnitOfWork
from app.domain.access import Permission, Principal

log = structlog.get_logger("omnistock.notifications")


class Sender(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


class LogSender:
    """Default: write the message to the log, for a first run or a system with no mail."""

    def send(self, to: str, subject: str, body: str) -> None:
        log.info("notification", to=to, subject=subject, body=body)


@dataclass(frozen=True)
class SmtpSender:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


async def list_notifications(
    uow: UnitOfWork, principal: Principal, order_id: uuid.UUID | None, limit: int
) -> list[Notification]:
    principal.require(Permission.READ_NOTIFICATIONS)
    async with uow:
        return await uow.orders.notifications(order_id, limit)


async def send_pending(new_uow: Callable[[], UnitOfWork], sender: Sender, limit: int = 100) -> int:
    """Send what is waiting, oldest first. Each message is locked while it is sent, so
    concurrent senders never send one twice; a failure is counted and retried later."""
    sent = 0
    for _ in range(limit):
        async with new_uow() as uow:
            message = await uow.orders.unsent_notification()
            if message is None:
                break
            try:
                await asyncio.to_thread(sender.send, message.to, message.subject, message.body)
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
