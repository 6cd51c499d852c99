"""The webhook subscriptions a storefront holds in its shop, and removing a storefront."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from app.platform.uow import Repository
from app.storefronts.tables import Storefront, StorefrontWebhookSubscription


class SubscriptionRepository(Repository):
    async def subscriptions(self, storefront_id: uuid.UUID) -> dict[str, str]:
        """topic -> subscription gid in the shop."""
        result = await self.session.execute(
            select(
                StorefrontWebhookSubscription.topic, StorefrontWebhookSubscription.external_id
            ).where(StorefrontWebhookSubscription.storefront_id == storefront_id)
        )
        return {row[0]: row[1] for row in result}

    async def save(self, storefront_id: uuid.UUID, subscriptions: dict[str, str]) -> None:
        if not subscriptions:
            return
        insert = (
            postgresql.insert
            if self.session.get_bind().dialect.name == "postgresql"
            else sqlite.insert
        )
        stmt = insert(StorefrontWebhookSubscription).values(
            [
                {"storefront_id": storefront_id, "topic": topic, "external_id": gid}
                for topic, gid in subscriptions.items()
            ]
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["storefront_id", "topic"],
                set_={"external_id": stmt.excluded.external_id},
            )
        )

    async def delete_storefront(self, storefront_id: uuid.UUID) -> None:
        """Its mappings, outbox, webhooks and subscriptions go with it (ON DELETE CASCADE)."""
        await self.session.execute(delete(Storefront).where(Storefront.id == storefront_id))
