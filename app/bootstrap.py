"""The composition root: the one place that turns settings into the objects use cases are given.

Entry points (the API's lifespan, worker actors, CLI commands, tests) call `build_context`
once per process and event loop and pass the context down; nothing below this module reads the
environment or picks an integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from app.config import Settings
from app.events.log_repository import EventSignal, event_writer
from app.events.ports import StreamSlots, WakeUps
from app.events.slots import LocalSlots
from app.events.wakeups import IN_THIS_PROCESS
from app.events.webhook_config import WebhookConfig, WebhookContext
from app.integrations.event_bus import RedisSlots, RedisWakeUps, redis_event_signal
from app.integrations.mail import LogSender, SmtpSender
from app.integrations.offline_payments import OfflinePayments
from app.integrations.shopify.client import ShopifyClient
from app.integrations.shopify.credentials import secret_box
from app.integrations.stripe import StripePayments
from app.integrations.webhook_sender import HttpWebhookTransport
from app.inventory.availability import CUSTOMER_ORIGIN
from app.inventory.ledger import AVAILABLE_CHANGED
from app.orders.customers import preferred_store_origin
from app.orders.ports import PaymentProvider, Sender
from app.platform import replica as reads
from app.platform.database import Database
from app.platform.events import EVENTS_COMMITTING
from app.platform.replica import ReplicaSettings
from app.storefronts.config import StorefrontContext, SyncConfig
from app.storefronts.outbox import publish_available_changes


@dataclass(frozen=True, kw_only=True)
class AppContext(StorefrontContext, WebhookContext):
    """The most derived context: every use case of every context accepts it."""


def build_context(
    settings: Settings, db: Database | None = None, event_signal: EventSignal | None = None
) -> AppContext:
    """`event_signal` is told the last `seq` each commit wrote (the live stream's wake-up)."""
    settings.check_for_production()
    return AppContext(
        db=db or database(settings),
        listeners={
            AVAILABLE_CHANGED: (publish_available_changes,),
            EVENTS_COMMITTING: (event_writer(event_signal),),
            CUSTOMER_ORIGIN: (preferred_store_origin,),
        },
        payments=payment_provider(settings),
        sender=notification_sender(settings),
        secrets=secret_box(settings.secret_key),
        payment_timeout=timedelta(seconds=settings.order_payment_timeout_seconds),
        pickup_hold=timedelta(hours=settings.pickup_hold_hours),
        warehouses_first=settings.warehouses_first,
        max_order_units=settings.max_order_units,
        max_open_unpaid_orders=settings.max_open_unpaid_orders,
        cart_hold=timedelta(minutes=settings.cart_hold_minutes),
        max_held_units=settings.max_held_units,
        sync=sync_config(settings),
        webhooks=webhook_config(settings),
    )


def database(settings: Settings, pool_size: int | None = None) -> Database:
    """The primary, and the read replica when DATABASE_READ_URL names one."""
    pool_size = pool_size or settings.database_pool_size
    reads.read_your_writes_by(settings.read_your_writes)
    replica = None
    if settings.database_read_url is not None:
        replica = ReplicaSettings(
            settings.database_read_url,
            max_lag_seconds=settings.read_max_lag_seconds,
            catch_up_seconds=settings.read_catch_up_seconds,
            pool_size=pool_size,
        )
    return Database(settings.database_url, pool_size, replica)


def event_signal(settings: Settings) -> EventSignal:
    """What a committing process tells the live stream's tailers: Redis pub/sub when Redis is
    configured (every API process hears it), else memory (the API runs the workers itself)."""
    if settings.redis_url:
        return redis_event_signal(settings.redis_url)
    return IN_THIS_PROCESS.publish


def stream_wakeups(settings: Settings) -> WakeUps:
    """What the API's stream tailer listens to: the other end of `event_signal`."""
    if settings.redis_url:
        return RedisWakeUps(settings.redis_url)
    return IN_THIS_PROCESS


def stream_slots(settings: Settings) -> StreamSlots:
    """Where open streams are counted per key: in Redis (every API process), else here."""
    if settings.redis_url:
        return RedisSlots(settings.redis_url)
    return LocalSlots()


def payment_provider(settings: Settings) -> PaymentProvider:
    """Stripe when a key is configured; otherwise payment in person only, plus web and app
    pickup orders paid when collected if PAYMENTS=at_counter says so."""
    if settings.stripe_api_key:
        return StripePayments(
            settings.stripe_api_key, settings.stripe_webhook_secret, settings.stripe_api_base
        )
    return OfflinePayments(at_counter=settings.payment_mode == "at_counter")


def sync_config(settings: Settings, **overrides: object) -> SyncConfig:
    values: dict[str, object] = {
        "client_factory": ShopifyClient,
        "secrets": secret_box(settings.secret_key),
        "timeout_seconds": settings.shopify_timeout_seconds,
        "default_api_version": settings.shopify_api_version,
        "allowed_api_base_urls": settings.shopify_api_base_urls,
        "public_base_url": settings.public_base_url,
        "flush_interval_seconds": settings.storefront_flush_seconds,
    }
    values.update(overrides)
    return SyncConfig(**values)  # type: ignore[arg-type]


def webhook_config(settings: Settings, **overrides: object) -> WebhookConfig:
    values: dict[str, object] = {
        "transport": HttpWebhookTransport(),
        "secrets": secret_box(settings.secret_key),
        "allow_private": settings.webhook_allow_private,
        "timeout_seconds": settings.webhook_timeout_seconds,
        "retry_window": timedelta(hours=settings.webhook_retry_hours),
        "retry_base_seconds": settings.webhook_retry_base_seconds,
        "retry_max_seconds": settings.webhook_retry_max_seconds,
    }
    values.update(overrides)
    return WebhookConfig(**values)  # type: ignore[arg-type]


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
