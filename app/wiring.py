"""Builds the collaborators the use cases need from the settings (API and workers alike)."""

from __future__ import annotations

from datetime import timedelta

from app.config import Settings
from app.db.session import Database
from app.integrations.stripe.payments import build_payment_provider
from app.services.notifications import LogSender, Sender, SmtpSender
from app.services.orders import OrderContext


def order_context(db: Database, settings: Settings) -> OrderContext:
    return OrderContext(
        new_uow=db.unit_of_work,
        payments=build_payment_provider(
            settings.stripe_api_key, settings.stripe_webhook_secret, settings.stripe_api_base
        ),
        payment_timeout=timedelta(seconds=settings.order_payment_timeout_seconds),
        pickup_hold=timedelta(hours=settings.pickup_hold_hours),
        warehouses_first=settings.warehouses_first,
    )


def notification_sender(settings: Settings) -> Sender:
    if settings.smtp_host:
        return SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    return LogSender()
