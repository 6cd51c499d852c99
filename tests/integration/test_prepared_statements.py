"""The hot paths run their statements straight on asyncpg on PostgreSQL (app/platform/prepared.py).
They must behave as SQLAlchemy would: the same rows, the same exceptions, a lost connection
never pooled again; and the checkout must really take that path."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.inventory import availability
from app.inventory.ledger import Ledger
from app.inventory.repository import CatalogueRepository
from app.inventory.rules import LevelKey, MovementKind
from app.inventory.tables import StockLevel, StockMovement
from app.orders import placing
from app.orders.commands import NewOrder
from app.orders.context import OrderContext
from app.orders.customer_repository import CustomerRepository
from app.orders.model import Fulfilment
from app.platform.database import Database
from app.platform.idempotency import store as platform_store
from app.platform.idempotency.store import IdempotentRequest
from tests.conftest import STOREFRONT, World
from tests.support.changes import receipt
from tests.support.context import context_for


@pytest.fixture(autouse=True)
def _postgres_only(on_postgres: bool) -> None:
    if not on_postgres:
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")


@contextmanager
def statements_through_sqlalchemy(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(" ".join(statement.split()[:3]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


async def _until_gone(admin: asyncpg.Connection, pid: int) -> None:
    for _ in range(500):
        if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} still there")


async def test_a_multi_row_append_returns_each_movement_with_its_own_id(
    db: Database, world: World
) -> None:
    async with context_for(db).uow() as uow:
        store = await CatalogueRepository.of(uow).location_ref("STORE-A")
        skus = await CatalogueRepository.of(uow).skus_by_code(["TEE-1", "TEE-2", "MUG-1"])
        changes = [
            receipt(LevelKey(store.id, skus[code].id), code, quantity)
            for code, quantity in (("MUG-1", 3), ("TEE-1", 5), ("TEE-2", 7))
        ]
        await Ledger.of(uow).lock([c.key for c in changes])
        recorded = await Ledger.of(uow).apply(changes)
        await uow.commit()

    async with db.sessionmaker() as session:
        stored = {
            m.id: (m.sku_id, m.on_hand_delta)
            for m in (await session.execute(select(StockMovement))).scalars()
            if m.kind == MovementKind.RECEIPT.value
        }
    assert {r.id: (r.change.key.sku_id, r.change.delta.on_hand) for r in recorded} == stored


async def test_a_key_claimed_twice_in_one_transaction_is_an_integrity_error(
    db: Database, world: World
) -> None:
    request = IdempotentRequest(scope="test", key="k-1", request_hash="h")
    async with context_for(db).uow() as uow:
        await platform_store.insert_claim(uow.statements, request)  # begins the transaction
        with pytest.raises(IntegrityError):
            await platform_store.insert_claim(uow.statements, request)  # on the driver


async def test_a_value_the_database_refuses_is_a_dbapi_error_with_its_sqlstate(
    db: Database, world: World
) -> None:
    async with context_for(db).uow() as uow:
        await CatalogueRepository.of(uow).skus_by_code(["TEE-1"])  # begins the transaction
        with pytest.raises(DBAPIError) as refused:
            await CatalogueRepository.of(uow).skus_by_code(["TEE\x00"])
    assert not isinstance(refused.value, IntegrityError | OperationalError)
    assert str(refused.value.orig.sqlstate).startswith("22")


async def test_a_connection_cut_mid_transaction_is_invalidated_and_nothing_is_kept(
    db: Database, world: World
) -> None:
    await world.receive("STORE-A", "TEE-1", 4)
    admin = await asyncpg.connect(db.url.replace("postgresql+asyncpg", "postgresql"))
    try:
        with pytest.raises(OperationalError) as cut:
            async with context_for(db).uow() as uow:
                store = await CatalogueRepository.of(uow).location_ref("STORE-A")
                skus = await CatalogueRepository.of(uow).skus_by_code(["TEE-1"])
                key = LevelKey(store.id, skus["TEE-1"].id)
                await Ledger.of(uow).lock([key])
                backend = await (await uow.statements.connection()).exec_driver_sql(
                    "SELECT pg_backend_pid()"
                )
                pid = backend.scalar_one()
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
                await _until_gone(admin, pid)  # so the next statement meets a cut line
                await Ledger.of(uow).apply([receipt(key, "TEE-1", 10)])
                await uow.commit()
    finally:
        await admin.close()
    assert cut.value.connection_invalidated

    level = await availability.stock_level(context_for(db), "TEE-1", "STORE-A")
    assert level.on_hand == 4  # the pool handed out a live connection; nothing was kept


async def test_placing_an_order_sends_only_the_key_claim_through_sqlalchemy(
    db: Database, world: World, orders_ctx: OrderContext
) -> None:
    await world.receive("STORE-A", "TEE-1", 4)
    request = IdempotentRequest(scope="test", key=str(uuid.uuid4()), request_hash="h")
    token = platform_store.begin_request(request)
    try:
        with statements_through_sqlalchemy(db) as seen:
            view = await placing.place_order(
                orders_ctx,
                STOREFRONT,
                NewOrder(
                    email="ann@example.com",
                    lines=[("TEE-1", 2)],
                    fulfilment=Fulfilment.PICKUP,
                    pickup_location="STORE-A",
                ),
            )
    finally:
        platform_store.end_request(token)
    assert seen == ["INSERT INTO idempotency_records"]
    async with db.sessionmaker() as session:
        level = (await session.execute(select(StockLevel))).scalar_one()
    assert (level.on_hand, level.reserved) == (4, 2)
    assert [(line.sku, line.quantity) for line in view.lines] == [("TEE-1", 2)]


async def test_a_statement_that_opens_the_transaction_runs_in_its_postgresql_form(
    db: Database, world: World
) -> None:
    """The first statement of a unit of work goes through SQLAlchemy, which begins the
    transaction; an upsert written per dialect must still be PostgreSQL's there."""
    async with context_for(db).uow() as uow:
        first = await CustomerRepository.of(uow).customer_for_email("Ann@Example.com", "Ann")
        await uow.commit()
    async with context_for(db).uow() as uow:
        await CatalogueRepository.of(uow).skus_by_code(["TEE-1"])  # begins the transaction
        again = await CustomerRepository.of(uow).customer_for_email(
            "ann@example.com", "Someone else"
        )
        await uow.commit()
    assert (again.id, again.email, again.name) == (first.id, "ann@example.com", "Ann")
