"""Random sequences of stock operations; after every step each level equals the fold of its
movements and `available = max(0, on_hand - reserved - safety_stock)`."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from app.inventory import availability, transfers
from app.inventory import movements as inventory_movements
from app.inventory.ledger import forget_known_levels
from app.inventory.rules import Delta, MovementKind, fold
from app.inventory.tables import Location, Sku, StockLevel, StockMovement
from app.platform.database import Database
from app.platform.errors import InsufficientStock, InvalidTransition
from tests.conftest import ADMIN
from tests.support.context import context_for
from tests.support.database import truncate_all

LOCATIONS = ["STORE-A", "STORE-B", "WH-1"]
SKUS = ["S-1", "S-2"]
quantities = st.integers(min_value=1, max_value=8)
locations = st.sampled_from(LOCATIONS)
skus = st.sampled_from(SKUS)


class LedgerMachine(RuleBasedStateMachine):
    """Drives the stock use cases and keeps a model of what on_hand must be."""

    database_url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = Database(self.database_url, pool_size=2)
        self.expected_on_hand: dict[tuple[str, str], int] = defaultdict(int)
        self.in_transit: list[str] = []

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def fresh_world(self) -> None:
        async def setup() -> None:
            await truncate_all(self.db.engine)
            forget_known_levels()
            from app.inventory import catalogue
            from app.inventory.catalogue import NewLocation, SkuData

            for i, code in enumerate(LOCATIONS):
                await catalogue.create_location(
                    context_for(self.db),
                    ADMIN,
                    NewLocation(
                        code=code,
                        name=code,
                        kind="warehouse" if code.startswith("WH") else "store",
                        latitude=51.5 + i / 100,
                        longitude=-0.1,
                        default_safety_stock=i % 2,
                    ),
                )
            for code in SKUS:
                await catalogue.create_sku(
                    context_for(self.db),
                    ADMIN,
                    SkuData(sku=code, name=code, price_minor=100, currency="GBP"),
                )

        self.run(setup())

    def move(self, location: str, sku: str, kind: MovementKind, quantity: int) -> None:
        try:
            movement = self.run(
                inventory_movements.record_movement(
                    context_for(self.db),
                    ADMIN,
                    location=location,
                    sku=sku,
                    kind=kind,
                    quantity=quantity,
                )
            )
        except InsufficientStock:
            assert self.expected_on_hand[(location, sku)] < (
                quantity if kind is MovementKind.DAMAGE else -quantity
            )
            return
        self.expected_on_hand[(location, sku)] += movement.change.delta.on_hand

    @rule(location=locations, sku=skus, quantity=quantities)
    def receipt(self, location: str, sku: str, quantity: int) -> None:
        self.move(location, sku, MovementKind.RECEIPT, quantity)

    @rule(location=locations, sku=skus, quantity=st.integers(-8, 8).filter(bool))
    def adjustment(self, location: str, sku: str, quantity: int) -> None:
        self.move(location, sku, MovementKind.ADJUSTMENT, quantity)

    @rule(location=locations, sku=skus, quantity=quantities)
    def damage(self, location: str, sku: str, quantity: int) -> None:
        self.move(location, sku, MovementKind.DAMAGE, quantity)

    @rule(location=locations, sku=skus, counted=st.integers(0, 12))
    def count(self, location: str, sku: str, counted: int) -> None:
        self.run(
            inventory_movements.record_counts(
                context_for(self.db), ADMIN, location=location, counts=[(sku, counted)]
            )
        )
        self.expected_on_hand[(location, sku)] = counted

    @rule(location=locations, sku=skus, safety=st.integers(0, 5))
    def safety_stock(self, location: str, sku: str, safety: int) -> None:
        level = self.run(
            inventory_movements.set_safety_stock(
                context_for(self.db), ADMIN, sku=sku, location=location, safety_stock=safety
            )
        )
        assert level.safety_stock == safety

    @rule(source=locations, destination=locations, sku=skus, quantity=quantities)
    def transfer(self, source: str, destination: str, sku: str, quantity: int) -> None:
        if source == destination:
            return
        try:
            view = self.run(
                transfers.create_transfer(
                    context_for(self.db),
                    ADMIN,
                    from_location=source,
                    to_location=destination,
                    lines=[(sku, quantity)],
                )
            )
        except InsufficientStock:
            assert self.expected_on_hand[(source, sku)] < quantity
            return
        self.expected_on_hand[(source, sku)] -= quantity
        self.in_transit.append(str(view.id))

    @rule(data=st.data())
    def receive_transfer(self, data: st.DataObject) -> None:
        if not self.in_transit:
            return
        transfer_id = data.draw(st.sampled_from(self.in_transit))
        import uuid

        try:
            view = self.run(
                transfers.receive_transfer(context_for(self.db), ADMIN, uuid.UUID(transfer_id))
            )
        except InvalidTransition:
            raise AssertionError("an in-transit transfer could not be received") from None
        self.in_transit.remove(transfer_id)
        for sku, quantity in view.lines:
            self.expected_on_hand[(view.to_location, sku)] += quantity

    @invariant()
    def levels_are_the_fold_of_their_movements(self) -> None:
        async def check() -> None:
            async with self.db.sessionmaker() as session:
                names = {
                    **{
                        ("l", i): c
                        for i, c in (
                            await session.execute(select(Location.id, Location.code))
                        ).all()
                    },
                    **{
                        ("s", i): c
                        for i, c in (await session.execute(select(Sku.id, Sku.sku))).all()
                    },
                }
                levels = (await session.execute(select(StockLevel))).scalars().all()
                movements = (
                    (await session.execute(select(StockMovement).order_by(StockMovement.id)))
                    .scalars()
                    .all()
                )
            deltas: dict[tuple[int, int], list[Delta]] = defaultdict(list)
            for m in movements:
                deltas[(m.location_id, m.sku_id)].append(
                    Delta(m.on_hand_delta, m.reserved_delta, m.safety_stock_delta, m.incoming_delta)
                )
            assert {(lv.location_id, lv.sku_id) for lv in levels} >= set(deltas)
            for level in levels:
                replayed = fold(deltas[(level.location_id, level.sku_id)])
                assert (level.on_hand, level.reserved, level.safety_stock, level.incoming) == (
                    replayed.on_hand,
                    replayed.reserved,
                    replayed.safety_stock,
                    replayed.incoming,
                )
                assert level.on_hand >= 0 and level.incoming >= 0
                key = (names[("l", level.location_id)], names[("s", level.sku_id)])
                assert level.on_hand == self.expected_on_hand[key]
                levels_via_api = await availability.stock_level(
                    context_for(self.db), key[1], key[0]
                )
                assert levels_via_api.available == max(
                    0, level.on_hand - level.reserved - level.safety_stock
                )

        self.run(check())

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()


def test_ledger_invariants_hold_under_random_operations(database_url: str) -> None:
    LedgerMachine.database_url = database_url
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
