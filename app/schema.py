"""Every context's tables in one metadata, for Alembic's autogenerate and for the tests.

Each context declares its tables on the shared `Base`; importing them here (and nowhere else
for this purpose) is what makes `Base.metadata` complete.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from app.access.keys import ApiKey
from app.access.staff_tables import SignInAttempt, Staff, StaffLocation, StaffSession
from app.audit.tables import AuditCheckpoint, AuditedLevel, AuditFinding
from app.carts.tables import Cart, CartLine
from app.events.tables import EventSequence, LoggedEvent
from app.events.webhook_tables import WebhookDelivery, WebhookEndpoint
from app.inventory.tables import (
    CountLine,
    CountSession,
    Location,
    MovementArchiveTotal,
    Sku,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
)
from app.orders.tables import (
    Allocation,
    Customer,
    Event,
    Notification,
    Order,
    OrderLine,
    OrderReturn,
    PaymentAction,
    ProcessedWebhook,
)
from app.platform.idempotency.store import IdempotencyRecord
from app.platform.tables import Base
from app.pos.tables import PosTransaction
from app.storefronts.tables import (
    ShopifyRefundApplied,
    ShopifyWebhook,
    Storefront,
    StorefrontItem,
    StorefrontLocation,
    StorefrontPending,
    StorefrontPushed,
    StorefrontWebhookSubscription,
)

MAPPED_CLASSES = (
    ApiKey,
    Staff,
    StaffLocation,
    StaffSession,
    SignInAttempt,
    IdempotencyRecord,
    Location,
    Sku,
    StockLevel,
    StockMovement,
    MovementArchiveTotal,
    Transfer,
    TransferLine,
    CountSession,
    CountLine,
    Customer,
    Order,
    OrderLine,
    Allocation,
    Event,
    Notification,
    PaymentAction,
    ProcessedWebhook,
    PosTransaction,
    OrderReturn,
    Storefront,
    StorefrontLocation,
    StorefrontItem,
    StorefrontPending,
    ShopifyWebhook,
    ShopifyRefundApplied,
    StorefrontWebhookSubscription,
    LoggedEvent,
    EventSequence,
    Cart,
    CartLine,
    WebhookEndpoint,
    WebhookDelivery,
    AuditCheckpoint,
    AuditedLevel,
    AuditFinding,
    StorefrontPushed,
)


def metadata() -> MetaData:
    """The schema as the code declares it (the migrations are what create it)."""
    return Base.metadata
