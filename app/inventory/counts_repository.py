"""Count sessions in the database, and the ledger positions a count is measured against."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from app.inventory.tables import CountLine, CountSession, Location, Sku, StockLevel, StockMovement
from app.platform.errors import NotFound
from app.platform.uow import Repository


class CountRepository(Repository):
    async def add_session(self, session: CountSession, lines: list[CountLine]) -> None:
        self.session.add(session)
        await self.session.flush()
        self.session.add_all(lines)
        await self.session.flush()

    async def add_lines(self, lines: list[CountLine]) -> None:
        self.session.add_all(lines)
        await self.session.flush()

    async def count_session(
        self, session_id: uuid.UUID, *, for_update: bool = False
    ) -> CountSession:
        stmt = select(CountSession).where(CountSession.id == session_id)
        if for_update:
            stmt = stmt.with_for_update()
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        if found is None:
            raise NotFound(f"count {session_id} not found")
        return found

    async def lines(self, session_id: uuid.UUID) -> list[CountLine]:
        result = await self.session.execute(
            select(CountLine).where(CountLine.session_id == session_id).order_by(CountLine.sku_id)
        )
        return list(result.scalars())

    async def last_movement_id(self, location_id: int) -> int:
        """The ledger's position at a location: its latest movement (0 before any)."""
        result = await self.session.execute(
            select(func.max(StockMovement.id)).where(StockMovement.location_id == location_id)
        )
        return int(result.scalar_one() or 0)

    async def last_movement_ids(self, location_id: int, sku_ids: Collection[int]) -> dict[int, int]:
        """The ledger's position of each level (0 before any movement)."""
        result = await self.session.execute(
            select(StockMovement.sku_id, func.max(StockMovement.id))
            .where(StockMovement.location_id == location_id, StockMovement.sku_id.in_(sku_ids))
            .group_by(StockMovement.sku_id)
        )
        found = {sku_id: int(last) for sku_id, last in result.all()}
        return {sku_id: found.get(sku_id, 0) for sku_id in sku_ids}

    async def moved_since(self, session_id: uuid.UUID, location_id: int) -> dict[int, int]:
        """For each line, the on-hand change of the movements after the line's `as_of`."""
        result = await self.session.execute(
            select(CountLine.sku_id, func.coalesce(func.sum(StockMovement.on_hand_delta), 0))
            .select_from(CountLine)
            .outerjoin(
                StockMovement,
                and_(
                    StockMovement.sku_id == CountLine.sku_id,
                    StockMovement.location_id == location_id,
                    StockMovement.id > CountLine.as_of,
                ),
            )
            .where(CountLine.session_id == session_id)
            .group_by(CountLine.sku_id)
        )
        return {sku_id: int(moved) for sku_id, moved in result.all()}

    async def on_hand(self, location_id: int, sku_ids: Collection[int]) -> dict[int, int]:
        result = await self.session.execute(
            select(StockLevel.sku_id, StockLevel.on_hand).where(
                StockLevel.location_id == location_id, StockLevel.sku_id.in_(sku_ids)
            )
        )
        found = {sku_id: on_hand for sku_id, on_hand in result.all()}
        return {sku_id: found.get(sku_id, 0) for sku_id in sku_ids}

    async def sku_codes(self, ids: Collection[int]) -> dict[int, str]:
        if not ids:
            return {}
        result = await self.session.execute(select(Sku.id, Sku.sku).where(Sku.id.in_(set(ids))))
        return {sku_id: code for sku_id, code in result.all()}

    async def location_codes(self, ids: Collection[int]) -> dict[int, str]:
        if not ids:
            return {}
        result = await self.session.execute(
            select(Location.id, Location.code).where(Location.id.in_(set(ids)))
        )
        return {location_id: code for location_id, code in result.all()}

    async def location_ids(self, codes: Collection[str]) -> list[int]:
        if not codes:
            return []
        result = await self.session.execute(
            select(Location.id).where(Location.code.in_(set(codes)))
        )
        return list(result.scalars())

    async def list_sessions(
        self,
        *,
        location_ids: Collection[int] | None,
        status: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[CountSession]:
        """Oldest first."""
        stmt = select(CountSession)
        if location_ids is not None:
            stmt = stmt.where(CountSession.location_id.in_(location_ids))
        if status is not None:
            stmt = stmt.where(CountSession.status == status)
        if after is not None:
            at, last_id = after
            stmt = stmt.where(
                or_(
                    CountSession.created_at > at,
                    and_(CountSession.created_at == at, CountSession.id > last_id),
                )
            )
        result = await self.session.execute(
            stmt.order_by(CountSession.created_at, CountSession.id).limit(limit)
        )
        return list(result.scalars())
