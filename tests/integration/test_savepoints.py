"""A savepoint undoes every write of its block, the ledger's prepared statements included:
they run on the connection the unit of work already holds, which SQLAlchemy would otherwise
put the SAVEPOINT on only the next time the session is asked for it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey
from app.inventory.tables import StockLevel, StockMovement
from app.platform.database import Database
from tests.conftest import World
from tests.support.changes import receipt
from tests.support.context import context_for


async def test_a_savepoint_rolled_back_takes_the_ledgers_writes_with_it(
    db: Database, world: World
) -> None:
    await world.receive("STORE-A", "TEE-1", 4)
    async with context_for(db).uow() as uow:
        store = await CatalogueRepository.of(uow).location_ref("STORE-A")
        sku = (await CatalogueRepository.of(uow).skus_by_code(["TEE-1"]))["TEE-1"]
        key = LevelKey(store.id, sku.id)
        ledger = Ledger.of(uow)
        await ledger.peek([key])  # the transaction has begun on the connection it holds
        with pytest.raises(RuntimeError):
            async with uow.savepoint():
                await ledger.apply([receipt(key, "TEE-1", 3)])
                raise RuntimeError("the block fails after its write")
        ledger.forget_locks()
        await ledger.apply([receipt(key, "TEE-1", 1)])
        await uow.commit()

    async with db.sessionmaker() as session:
        on_hand = await session.scalar(
            select(StockLevel.on_hand).where(
                StockLevel.location_id == key.location_id, StockLevel.sku_id == key.sku_id
            )
        )
        moved = await session.scalar(
            select(func.sum(StockMovement.on_hand_delta)).where(
                StockMovement.location_id == key.location_id, StockMovement.sku_id == key.sku_id
            )
        )
    assert (on_hand, moved) == (5, 5)
