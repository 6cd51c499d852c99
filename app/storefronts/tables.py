"""Storefronts, their mappings, the pending-levels outbox and received webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.platform.tables import Base, BigId, utcnow


class Storefront(Base):
    """An external shop we keep in step with the ledger. Secrets are Fernet tokens."""

    __tablename__ = "storefronts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    shop_domain: Mapped[str] = mapped_column(String(255))
    api_version: Mapped[str] = mapped_column(String(16))
    api_base_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    buffer: Mapped[int] = mapped_column(Integer, default=0)
    webhook_secret_encrypted: Mapped[str] = mapped_column(Text)
    access_token_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    client_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    # one flusher at a time: a lease any worker may take once it has expired
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True
    )
    last_synced_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True
    )
    calls_made: Mapped[int] = mapped_column(BigInteger, default=0)
    throttled: Mapped[int] = mapped_column(BigInteger, default=0)
    recent_errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # the order sweep reads orders updated since this (Shopify's clock, minus a margin)
    orders_swept_at: Mapped[datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True
    )

    __table_args__ = (
        CheckConstraint("buffer >= 0", name="buffer"),
        CheckConstraint("kind IN ('shopify')", name="kind"),
    )


class StorefrontLocation(Base):
    """Which Shopify location shows the stock of one of our locations."""

    __tablename__ = "storefront_locations"

    storefront_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("storefronts.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    external_location_id: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint(
            "storefront_id", "external_location_id", name="uq_storefront_locations_external"
        ),
        Index("ix_storefront_locations_location", "location_id"),
    )


class StorefrontItem(Base):
    """Which Shopify inventory item is one of our SKUs."""

    __tablename__ = "storefront_items"

    storefront_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("storefronts.id", ondelete="CASCADE"), primary_key=True
    )
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    external_inventory_item_id: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint(
            "storefront_id", "external_inventory_item_id", name="uq_storefront_items_external"
        ),
        Index("ix_storefront_items_sku", "sku_id"),
    )


class StorefrontPending(Base):
    """The outbox: a level whose latest `available` this storefront has not yet been sent.

    One row per level however many changes it saw (they coalesce); `generation` goes up at
    every change so a push only acknowledges the change it actually sent."""

    __tablename__ = "storefront_pending"

    storefront_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("storefronts.id", ondelete="CASCADE"), primary_key=True
    )
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=1)
    changed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)

    __table_args__ = (Index("ix_storefront_pending_changed_at", "storefront_id", "changed_at"),)


class StorefrontPushed(Base):
    """The quantity a storefront was last told for a level (written when Shopify accepted a
    push), so an audit can tell a level that was pushed from one that was dropped."""

    __tablename__ = "storefront_pushed"

    storefront_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("storefronts.id", ondelete="CASCADE"), primary_key=True
    )
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
    pushed_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class ShopifyWebhook(Base):
    """Every verified webhook delivery, stored before it is acted on, once per event."""

    __tablename__ = "shopify_webhooks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    storefront_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("storefronts.id", ondelete="CASCADE")
    )
    delivery_key: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(100))
    payload: Mapped[Any] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(500), nullable=True)

    __table_args__ = (
        UniqueConstraint("storefront_id", "delivery_key", name="uq_shopify_webhooks_delivery"),
        Index("ix_shopify_webhooks_unprocessed", "processed_at", "id"),
    )


class ShopifyRefundApplied(Base):
    """A Shopify refund whose restocked units are in the book (a webhook and the sweep may
    both bring it: it is applied once)."""

    __tablename__ = "shopify_refunds_applied"

    storefront_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("storefronts.id", ondelete="CASCADE"), primary_key=True
    )
    refund_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)


class StorefrontWebhookSubscription(Base):
    """A webhook subscription this service created in the shop (deleted with the storefront)."""

    __tablename__ = "storefront_webhook_subscriptions"

    storefront_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("storefronts.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(100), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100))
