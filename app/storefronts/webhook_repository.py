"""Shopify webhooks as received: stored once per delivery, then acted on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.platform.errors import NotFound
from app.platform.uow import Repository
from app.storefronts.tables import (
    ShopifyRefundApplied,
    ShopifyWebhook,
    Storefront,
)


class WebhookRepository(Repository):
    async def store_webhook(
        self,
        storefront_id: uuid.UUID,
        delivery_key: str,
        topic: str,
        payload: Any,
        received_at: datetime,
    ) -> int | None:
        """The new row's id, or None when this event was already received."""
        stmt: Any = (
            postgresql.insert
            if self.session.get_bind().dialect.name == "postgresql"
            else sqlite.insert
        )(ShopifyWebhook).values(
            storefront_id=storefront_id,
            delivery_key=delivery_key,
            topic=topic,
            payload=payload,
            received_at=received_at,
        )
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["storefront_id", "delivery_key"]
        ).returning(ShopifyWebhook.id)
        row = (await self.session.execute(stmt)).first()
        return None if row is None else int(row[0])

    async def webhook(self, webhook_id: int) -> ShopifyWebhook:
        found = await self.session.get(ShopifyWebhook, webhook_id, with_for_update=True)
        if found is None:
            raise NotFound(f"webhook {webhook_id} not found")
        return found

    async def unprocessed_webhooks(self, limit: int) -> list[int]:
        result = await self.session.execute(
            select(ShopifyWebhook.id)
            .where(ShopifyWebhook.processed_at.is_(None))
            .order_by(ShopifyWebhook.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def webhooks(self, storefront_id: uuid.UUID, limit: int = 100) -> list[ShopifyWebhook]:
        result = await self.session.execute(
            select(ShopifyWebhook)
            .where(ShopifyWebhook.storefront_id == storefront_id)
            .order_by(ShopifyWebhook.id.desc())
            .limit(limit)
        )
        return list(result.scalars())

    async def claim_refund(self, storefront_id: uuid.UUID, refund_id: str, now: datetime) -> bool:
        """True the first time this refund is claimed; False ever after."""
        stmt: Any = (
            postgresql.insert
            if self.session.get_bind().dialect.name == "postgresql"
            else sqlite.insert
        )(ShopifyRefundApplied).values(
            storefront_id=storefront_id, refund_id=refund_id[:100], applied_at=now
        )
        result = await self.session.execute(
            stmt.on_conflict_do_nothing().returning(ShopifyRefundApplied.refund_id)
        )
        return result.scalar_one_or_none() is not None

    async def mark_orders_swept(self, storefront_id: uuid.UUID, at: datetime) -> None:
        await self.session.execute(
            update(Storefront)
            .where(Storefront.id == storefront_id)
            .values(orders_swept_at=at)
            .execution_options(synchronize_session=False)
        )
