"""Till transactions in the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.platform.uow import Repository
from app.pos.tables import PosTransaction


class TillRepository(Repository):
    async def pos_transaction(self, location_id: int, client_txn_id: str) -> PosTransaction | None:
        return (
            await self.session.execute(
                select(PosTransaction).where(
                    PosTransaction.location_id == location_id,
                    PosTransaction.client_txn_id == client_txn_id,
                )
            )
        ).scalar_one_or_none()

    async def add_pos_transaction(self, row: PosTransaction) -> bool:
        """False when the till already recorded this transaction id (a concurrent replay)."""
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            return False
        return True
