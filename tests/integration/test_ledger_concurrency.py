"""Many writers on one level at once never lose an update and never go below zero."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import select

from app.db.ledger import LevelKey
from app.db.models import StockLevel, StockMovement
from app.db.session import Database
from app.domain.errors import InsufficientStock
from app.domain.orders import Fulfilment
from app.domain.stock import MovementKind
from app.services import orders, stock
from app.services.orders import NewOrder, OrderContext
from tests.conftest import ADMIN, STOREFRONT, World

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
                await stock.record_movement(
                    db.unit_of_work(),
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
            await stock.create_transfer(
                db.unit_of_work(), ADMIN, from_location="WH-1", to_location=to, lines=[("TEE-1", 1)]
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
    warehouse = await stock.stock_level(world.db.unit_of_work(readonly=True), "TEE-1", "WH-1")
    a = await stock.stock_level(world.db.unit_of_work(readonly=True), "TEE-1", "STORE-A")
    b = await stock.stock_level(world.db.unit_of_work(readonly=True), "TEE-1", "STORE-B")
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
    async with world.db.unit_of_work() as holder:  # a sale in progress on the level
        store = await holder.catalogue.location_ref("STORE-A")
        skus = await holder.catalogue.skus_by_code(["TEE-1"])
        await holder.ledger.lock([LevelKey(store.id, skus["TEE-1"].id)])
        with pytest.raises(InsufficientStock):
            # Guarded only against hanging: a refusal that waited for the lock would never
            # finish while this block holds it.
            await asyncio.wait_for(orders.place_order(orders_ctx, STOREFRONT, order), 30)
