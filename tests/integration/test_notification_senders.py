"""The outbox sends through SMTP when configured: a real SMTP server on loopback."""

from __future__ import annotations

import socket
from typing import Any

from aiosmtpd.controller import Controller

from app.integrations.mail import SmtpSender
from app.orders.notifications import send_pending
from app.orders.outbox_repository import OutboxRepository
from app.orders.repository import OrderRepository
from app.platform.database import Database
from tests.support.context import context_for


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_smtp_sender_delivers_the_outbox(db: Database) -> None:
    async with context_for(db).uow() as uow:
        OrderRepository.of(uow).add_notification(
            order_id=None,
            kind="confirmed",
            to="fay@example.com",
            subject="Order W-1 confirmed",
            body="Thank you.",
        )
        await uow.commit()
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = SmtpSender(host="127.0.0.1", port=port, sender="shop@example.com")
        assert await send_pending(context_for(db, sender=sender)) == 1
    finally:
        controller.stop()
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["fay@example.com"]
    assert b"Subject: Order W-1 confirmed" in envelope.content


async def test_an_unreachable_smtp_server_keeps_the_message_for_later(db: Database) -> None:
    async with context_for(db).uow() as uow:
        OrderRepository.of(uow).add_notification(
            order_id=None, kind="confirmed", to="gus@example.com", subject="s", body="b"
        )
        await uow.commit()
    dead = SmtpSender(host="127.0.0.1", port=free_port(), sender="shop@example.com", timeout=1)
    assert await send_pending(context_for(db, sender=dead), limit=1) == 0
    async with context_for(db).uow(readonly=True) as uow:
        [note] = await OutboxRepository.of(uow).notifications(None, 10)
    assert note.sent_at is None and note.attempts == 1 and note.last_error
