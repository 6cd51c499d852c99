"""The last stock movement of each level the sync pushes (why its quantity changed)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, tuple_

from app.inventory.tables import StockMovement
from app.platform.uow import Repository
from app.storefronts.push_reasons import Cause


class CauseRepository(Repository):
    async def last_movements(
        self, levels: Sequence[tuple[int, int]]
    ) -> dict[tuple[int, int], Cause]:
        """(sku_id, location_id) → its latest movement, for those that have one."""
        if not levels:
            return {}
        last = (
            select(func.max(StockMovement.id).label("id"))
            .where(tuple_(StockMovement.sku_id, StockMovement.location_id).in_(list(levels)))
            .group_by(StockMovement.sku_id, StockMovement.location_id)
            .subquery()
        )
        result = await self.session.execute(
            select(
                StockMovement.sku_id,
                StockMovement.location_id,
                StockMovement.id,
                StockMovement.kind,
                StockMovement.reference,
            ).join(last, last.c.id == StockMovement.id)
        )
        return {
            (row[0], row[1]): Cause(movement_id=row[2], kind=row[3], reference=row[4])
            for row in result
        }
