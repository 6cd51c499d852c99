"""What each storefront was last told of each level (read by the audit, app/audit)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from app.platform.uow import Repository
from app.storefronts.tables import StorefrontPushed


class PushedRepository(Repository):
    async def record_pushed(
        self, storefront_id: uuid.UUID, pushed: Sequence[tuple[int, int, int]], at: datetime
    ) -> None:
        """Remember the quantities a storefront accepted: (sku_id, location_id, quantity)."""
        if not pushed:
            return
        insert = sqlite.insert if self._uow.is_sqlite else postgresql.insert
        stmt: Any = insert(StorefrontPushed).values(
            [
                {
                    "storefront_id": storefront_id,
                    "sku_id": sku_id,
                    "location_id": location_id,
                    "quantity": quantity,
                    "pushed_at": at,
                }
                for sku_id, location_id, quantity in pushed
            ]
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["storefront_id", "sku_id", "location_id"],
                set_={"quantity": stmt.excluded.quantity, "pushed_at": stmt.excluded.pushed_at},
            )
        )
