"""The order outboxes read back: notifications to send, payment actions owed, webhooks seen."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app.orders.tables import (
    Notification,
    PaymentAction,
    ProcessedWebhook,
)
from app.platform.tables import utcnow
from app.platform.uow import Repository


class OutboxRepository(Repository):
    async def notifications(self, order_id: uuid.UUID | None, limit: int) -> list[Notification]:
        stmt = select(Notification).order_by(Notification.created_at, Notification.id)
        if order_id is not None:
            stmt = stmt.where(Notification.order_id == order_id)
        return list((await self.session.execute(stmt.limit(limit))).scalars())

    async def claim_unsent_notification(
        self, now: datetime, lease: timedelta
    ) -> Notification | None:
        """The oldest unsent message nobody is sending, claimed until `now + lease`: the
        claim commits before the message is sent, so no transaction waits on the mail server,
        and a sender that dies mid-send leaves it to the next one when the claim lapses."""
        message = (
            await self.session.execute(
                select(Notification)
                .where(
                    Notification.sent_at.is_(None),
                    Notification.attempts < 10,
                    or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
                )
                .order_by(Notification.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if message is not None:
            message.claimed_until = now + lease
        return message

    async def record_sending(
        self, notification_id: uuid.UUID, now: datetime, error: str | None
    ) -> None:
        """What came of one attempt to send; the claim ends."""
        message = await self.session.get(Notification, notification_id, with_for_update=True)
        if message is None:
            return
        message.attempts += 1
        message.claimed_until = None
        if error is None:
            message.sent_at = now
        else:
            message.last_error = error[:500]

    async def payment_action_snapshot(self, action_id: uuid.UUID) -> PaymentAction | None:
        """The action as it is now, unlocked (read before calling the provider)."""
        return await self.session.get(PaymentAction, action_id)

    def add_payment_action(
        self, *, order_id: uuid.UUID, action: str, amount_minor: int | None = None
    ) -> PaymentAction:
        row = PaymentAction(
            id=uuid.uuid4(),
            order_id=order_id,
            action=action,
            amount_minor=amount_minor,
            status="pending",
            attempts=0,
            created_at=utcnow(),
        )
        self.session.add(row)
        return row

    async def pending_payment_action_ids(
        self, order_id: uuid.UUID | None, limit: int
    ) -> list[uuid.UUID]:
        stmt = select(PaymentAction.id).where(
            PaymentAction.status == "pending", PaymentAction.attempts < 20
        )
        if order_id is not None:
            stmt = stmt.where(PaymentAction.order_id == order_id)
        return list(
            (
                await self.session.execute(stmt.order_by(PaymentAction.created_at).limit(limit))
            ).scalars()
        )

    async def payment_action(self, action_id: uuid.UUID) -> PaymentAction | None:
        return (
            await self.session.execute(
                select(PaymentAction)
                .where(PaymentAction.id == action_id)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()

    async def mark_webhook_processed(self, provider: str, event_id: str, event_type: str) -> bool:
        """False when this event was handled before (a redelivery)."""
        try:
            async with self.session.begin_nested():
                self.session.add(
                    ProcessedWebhook(
                        provider=provider,
                        event_id=event_id,
                        event_type=event_type,
                        received_at=utcnow(),
                    )
                )
                await self.session.flush()
        except IntegrityError:
            return False
        return True
