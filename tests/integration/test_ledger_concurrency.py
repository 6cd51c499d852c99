"""Many writers on one level at once never lose an update and never go below zero."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import select

from app.inventory import availability, movements, transfers
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey, MovementKind
from app.inventory.tables import StockLevel, StockMovement
from app.orders import placing
from app.orders.commands import NewOrder
from app.orders.context import OrderContext
from app.orders.model import Fulfilment
from app.platform.database import Database
from app.platform.errors import InsufficientStock
from tests.conftest import ADMIN, STOREFRONT, World
from tests.support.context import context_for

WRITERS = 60
OPERATIONS_PER_WRITER = 15


@pytest.mark.postgres
async def test_sixty_concurrent_writers_keep_the_level_exact(
    settings: object, world: World, on_postgres: bool
) -> None:
    if not on_postgres:
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
    db = Database(world.db.url, pool_size=WRITERS // 2 + 5)
    applied: list[int] = []
    refused = 0

    async def writer(seed: int) -> None:
        nonlocal refused
        rng = random.Random(seed)
        for _ in range(OPERATIONS_PER_WRITER):
            receipt = rng.random() < 0.45  # drifts towards empty shelves
            quantity = rng.randint(1, 3)
            kind = MovementKind.RECEIPT if receipt else MovementKind.DAMAGE
            try:
                await movements.record_movement(
                    context_for(db),
                    ADMIN,
                    location="STORE-A",
                    sku="TEE-1",
                    kind=kind,
                    quantity=quantity,
                )
            except InsufficientStock:
                refused += 1
            else:
                applied.append(quantity if receipt else -quantity)

    try:
        await asyncio.gather(*(writer(seed) for seed in range(WRITERS)))
        async with db.sessionmaker() as session:
            level = (await session.execute(select(StockLevel))).scalar_one()
            deltas = list(
                (
                    await session.execute(
                        select(StockMovement.on_hand_delta).order_by(StockMovement.id)
                    )
                ).scalars()
            )
    finally:
        await db.dispose()

    assert len(applied) + refused == WRITERS * OPERATIONS_PER_WRITER
    assert refused > 0, "the mix should have hit empty shelves sometimes"
    assert level.on_hand == sum(applied) == sum(deltas)
    assert len(deltas) == len(applied)
    running = 0
    for delta in deltas:  # movement ids follow lock order, so every prefix is a real state
        running += delta
        assert running >= 0
    assert level.version == len(applied)


@pytest.mark.postgres
async def test_concurrent_transfers_out_of_one_location_never_overdraw(
    world: World, on_postgres: bool
) -> None:
    if not on_postgres:
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
    await world.receive("WH-1", "TEE-1", 20)
    db = Database(world.db.url, pool_size=30)

    async def send(to: str) -> bool:
        try:
            await transfers.create_transfer(
                context_for(db), ADMIN, from_location="WH-1", to_location=to, lines=[("TEE-1", 1)]
            )
        except InsufficientStock:
            return False
        return True

    try:
        results = await asyncio.gather(
            *(send("STORE-A" if i % 2 else "STORE-B") for i in range(50))
        )
    finally:
        await db.dispose()
    assert sum(results) == 20
    warehouse = await availability.stock_level(context_for(world.db), "TEE-1", "WH-1")
    a = await availability.stock_level(context_for(world.db), "TEE-1", "STORE-A")
    b = await availability.stock_level(context_for(world.db), "TEE-1", "STORE-B")
    assert warehouse.on_hand == 0
    assert a.incoming + b.incoming == 20


@pytest.mark.postgres
async def test_a_pickup_order_for_a_sold_out_sku_is_refused_while_a_sale_holds_its_level(
    world: World, orders_ctx: OrderContext, on_postgres: bool
) -> None:
    """Refusals must not queue behind the sale that holds a hot level's lock."""
    if not on_postgres:
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
    await world.receive("STORE-A", "TEE-1", 1)
    order = NewOrder(
        email="bob@example.com",
        lines=[("TEE-1", 2)],
        fulfilment=Fulfilment.PICKUP,
        pickup_location="STORE-A",
    )
    async with context_for(world.db).uow() as holder:  # a sale in progress on the level
        store = await CatalogueRepository.of(holder).location_ref("STORE-A")
        skus = await CatalogueRepository.of(holder).skus_by_code(["TEE-1"])
        await Ledger.of(holder).lock([LevelKey(store.id, skus["TEE-1"].id)])
        with pytest.raises(InsufficientStock):
            # Guarded only against hanging: a refusal that waited for the lock would never
            # finish while this block holds it.
            await asyncio.wait_for(placing.place_order(orders_ctx, STOREFRONT, order), 30)
