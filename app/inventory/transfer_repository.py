"""Transfers in the database: the lists (one transfer and its lines: `CatalogueRepository`)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, or_, select

from app.inventory.tables import Location, Sku, Transfer, TransferLine
from app.platform.uow import Repository


class TransferRepository(Repository):
    async def list_transfers(
        self,
        *,
        location_ids: Collection[int] | None,
        status: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Transfer]:
        """Oldest first; `location_ids` matches either end."""
        stmt = select(Transfer)
        if location_ids is not None:
            stmt = stmt.where(
                or_(
                    Transfer.from_location_id.in_(location_ids),
                    Transfer.to_location_id.in_(location_ids),
                )
            )
        if status is not None:
            stmt = stmt.where(Transfer.status == status)
        if after is not None:
            at, last_id = after
            stmt = stmt.where(
                or_(
                    Transfer.created_at > at, and_(Transfer.created_at == at, Transfer.id > last_id)
                )
            )
        result = await self.session.execute(
            stmt.order_by(Transfer.created_at, Transfer.id).limit(limit)
        )
        return list(result.scalars())

    async def lines_of(self, transfer_ids: Collection[uuid.UUID]) -> list[TransferLine]:
        if not transfer_ids:
            return []
        result = await self.session.execute(
            select(TransferLine)
            .where(TransferLine.transfer_id.in_(transfer_ids))
            .order_by(TransferLine.transfer_id, TransferLine.sku_id)
        )
        return list(result.scalars())

    async def location_ids(self, codes: Collection[str]) -> dict[str, int]:
        """The ids of the locations named that exist."""
        if not codes:
            return {}
        result = await self.session.execute(
            select(Location.code, Location.id).where(Location.code.in_(set(codes)))
        )
        return {code: location_id for code, location_id in result.all()}

    async def location_codes(self, ids: Collection[int]) -> dict[int, str]:
        if not ids:
            return {}
        result = await self.session.execute(
            select(Location.id, Location.code).where(Location.id.in_(set(ids)))
        )
        return {location_id: code for location_id, code in result.all()}

    async def sku_codes(self, ids: Collection[int]) -> dict[int, str]:
        if not ids:
            return {}
        result = await self.session.execute(select(Sku.id, Sku.sku).where(Sku.id.in_(set(ids))))
        return {sku_id: code for sku_id, code in result.all()}
