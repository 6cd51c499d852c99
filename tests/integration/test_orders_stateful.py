"""Random sequences of the whole order book — receipts, pickup and ship orders, cancels,
ready and handover (whole or line by line, with rejected units and partial handovers),
shipping, expiry, counter sales and returns — checking after every step that the ledger still
projects to the levels, that `reserved` is exactly what open orders hold, that an open order's
lines are what it holds and what it costs, and that no remote order was ever accepted without
available stock."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

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
from sqlalchemy.ext.asyncio import AsyncSession

from app.inventory import availability, catalogue
from app.inventory import movements as inventory_movements
from app.inventory.catalogue import NewLocation, SkuData
from app.inventory.ledger import forget_known_levels
from app.inventory.rules import Delta, MovementKind, fold
from app.inventory.tables import StockLevel, StockMovement
from app.orders import closing, fulfilment, line_work, placing, returns, views
from app.orders.commands import NewOrder, ShipAddress
from app.orders.model import (
    OPEN_STATUSES,
    Fulfilment,
    Rejection,
    RejectReason,
    TooManyUnpaidOrders,
)
from app.orders.tables import Allocation, Notification, Order, OrderLine
from app.platform.access import Principal, Role
from app.platform.database import Database
from app.platform.errors import DomainError, InsufficientStock
from app.platform.tables import utcnow
from app.pos import till as pos_till
from app.pos.till import CounterLine, CounterSale
from tests.support.context import context_for
from tests.support.database import truncate_all

ADMIN = Principal("k-admin", "ops", Role.ADMIN)
WEB = Principal("k-web", "shop", Role.STOREFRONT)
STORES = ["STORE-A", "STORE-B"]
SKUS = ["S-1", "S-2"]
ADDRESS = ShipAddress("1 High St", "London", "N1", "GB", 51.5, -0.1)


class OrderBookMachine(RuleBasedStateMachine):
    database_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db = Database(self.database_url, pool_size=2)
        self.ctx = context_for(self.db)
        self.orders: list[uuid.UUID] = []
        self.txn = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @initialize()
    def fresh_world(self) -> None:
        async def setup() -> None:
            await truncate_all(self.db.engine)
            forget_known_levels()
            for i, code in enumerate([*STORES, "WH-1"]):
                await catalogue.create_location(
                    context_for(self.db),
                    ADMIN,
                    NewLocation(
                        code,
                        code,
                        "warehouse" if code == "WH-1" else "store",
                        51.5 + i / 50,
                        -0.1,
                        pickup_enabled=code != "WH-1",
                        ship_enabled=code != "STORE-B",
                        default_safety_stock=i % 2,
                    ),
                )
            for code in SKUS:
                await catalogue.create_sku(
                    context_for(self.db), ADMIN, SkuData(code, code, 500, "GBP")
                )
                for location in [*STORES, "WH-1"]:
                    await inventory_movements.record_movement(
                        context_for(self.db),
                        ADMIN,
                        location=location,
                        sku=code,
                        kind=MovementKind.RECEIPT,
                        quantity=4,
                    )

        self.run(setup())

    @rule(
        location=st.sampled_from([*STORES, "WH-1"]),
        sku=st.sampled_from(SKUS),
        quantity=st.integers(1, 6),
    )
    def receipt(self, location: str, sku: str, quantity: int) -> None:
        self.run(
            inventory_movements.record_movement(
                context_for(self.db),
                ADMIN,
                location=location,
                sku=sku,
                kind=MovementKind.RECEIPT,
                quantity=quantity,
            )
        )

    @rule(
        store=st.sampled_from(STORES),
        sku=st.sampled_from(SKUS),
        quantity=st.integers(1, 4),
        ship=st.booleans(),
    )
    def place(self, store: str, sku: str, quantity: int, ship: bool) -> None:
        data = NewOrder(
            email=f"c{len(self.orders) % 3}@example.com",
            lines=[(sku, quantity)],
            fulfilment=Fulfilment.SHIP if ship else Fulfilment.PICKUP,
            pickup_location=None if ship else store,
            address=ADDRESS if ship else None,
            # without Stripe, web orders are pickup only: ship orders come from the back office
            channel="admin" if ship else None,
        )
        try:
            view = self.run(placing.place_order(self.ctx, ADMIN if ship else WEB, data))
        except (InsufficientStock, TooManyUnpaidOrders):
            return
        self.orders.append(view.id)
        # Accepted only with stock: no level it reserved at went below available zero.
        for allocation in view.allocations:
            level = self.run(
                availability.stock_level(context_for(self.db), allocation.sku, allocation.location)
            )
            assert level.on_hand - level.reserved - level.safety_stock >= 0

    @rule(data=st.data())
    def staff_action(self, data: st.DataObject) -> None:
        if not self.orders:
            return
        order_id = data.draw(st.sampled_from(self.orders))
        order = self.run(views.get_order(self.ctx, ADMIN, order_id))
        sensible = {
            "confirmed": ["ready", "ready_part", "reject", "ship", "cancel"],
            "ready_for_pickup": ["pickup", "pickup_part", "reject", "cancel"],
            "picked_up": ["return"],
            "shipped": ["return"],
        }
        everything = ["cancel", "ready", "ready_part", "reject", "pickup", "pickup_part"]
        action = data.draw(
            st.sampled_from(sensible.get(order.status, ["cancel"]))
            if data.draw(st.integers(0, 9))
            else st.sampled_from([*everything, "ship", "return"])
        )
        some = [(line.sku, data.draw(st.integers(1, 3))) for line in order.lines]
        store = STORES[0] if order.pickup_location is None else None
        try:
            if action == "cancel":
                self.run(closing.cancel(self.ctx, ADMIN, order_id))
            elif action == "ready":
                self.run(fulfilment.mark_ready(self.ctx, ADMIN, order_id))
            elif action == "ready_part":
                self.run(fulfilment.mark_ready(self.ctx, ADMIN, order_id, some))
            elif action == "reject":
                reason = data.draw(st.sampled_from(list(RejectReason)))
                rejected = [Rejection(sku, quantity, reason) for sku, quantity in some]
                self.run(line_work.work_lines(self.ctx, ADMIN, order_id, [], rejected))
            elif action == "pickup_part":
                till = Principal("k-pos", "till", Role.POS, order.pickup_location or "none")
                self.run(fulfilment.hand_over(self.ctx, till, order_id, self._code(order_id), some))
            elif action == "pickup":
                view = self.run(views.get_order(self.ctx, ADMIN, order_id))
                till = Principal("k-pos", "till", Role.POS, view.pickup_location or "none")
                self.run(fulfilment.hand_over(self.ctx, till, order_id, self._code(order_id)))
            elif action == "ship":
                self.run(fulfilment.ship(self.ctx, ADMIN, order_id))
            else:
                view = self.run(views.get_order(self.ctx, ADMIN, order_id))
                line = view.lines[0]
                self.run(
                    returns.return_order(
                        self.ctx, ADMIN, order_id, store or STORES[1], [(line.sku, 1)]
                    )
                )
        except DomainError:
            pass  # illegal moves are refused and change nothing; the invariants check that

    @rule(store=st.sampled_from(STORES), sku=st.sampled_from(SKUS), quantity=st.integers(1, 3))
    def counter_sale(self, store: str, sku: str, quantity: int) -> None:
        self.txn += 1
        till = Principal("k-pos", "till", Role.POS, store)
        self.run(
            pos_till.record_sale(
                self.ctx,
                till,
                CounterSale(f"t-{self.txn}", store, utcnow(), [CounterLine(sku, quantity, 500)]),
            )
        )

    @rule()
    def time_passes(self) -> None:
        later = utcnow() + self.ctx.pickup_hold + timedelta(seconds=1)
        self.run(closing.expire_due_orders(self.ctx, now=later))

    def _code(self, order_id: uuid.UUID) -> str:
        async def latest() -> str:
            async with self.db.sessionmaker() as session:
                bodies = (
                    (
                        await session.execute(
                            select(Notification.body)
                            .where(
                                Notification.order_id == order_id,
                                Notification.kind == "ready_for_pickup",
                            )
                            .order_by(Notification.created_at.desc())
                        )
                    )
                    .scalars()
                    .all()
                )
            match = re.search(r"\b(\d{6})\b", bodies[0]) if bodies else None
            return match.group(1) if match else "000000"

        return str(self.run(latest()))

    @invariant()
    def ledger_and_reservations_hold(self) -> None:
        async def check() -> None:
            async with self.db.sessionmaker() as session:
                levels = (await session.execute(select(StockLevel))).scalars().all()
                movements = (
                    (await session.execute(select(StockMovement).order_by(StockMovement.id)))
                    .scalars()
                    .all()
                )
                held = await self.promises(session)
            deltas: dict[tuple[int, int], list[Delta]] = defaultdict(list)
            for m in movements:
                deltas[(m.location_id, m.sku_id)].append(
                    Delta(m.on_hand_delta, m.reserved_delta, m.safety_stock_delta, m.incoming_delta)
                )
            promised: dict[tuple[int, int], int] = defaultdict(int)
            for location_id, sku_id, quantity in held:
                assert location_id is not None, "units are promised only at a location"
                promised[(location_id, sku_id)] += quantity
            for level in levels:
                key = (level.location_id, level.sku_id)
                replayed = fold(deltas[key])
                assert (level.on_hand, level.reserved, level.safety_stock, level.incoming) == (
                    replayed.on_hand,
                    replayed.reserved,
                    replayed.safety_stock,
                    replayed.incoming,
                )
                assert level.reserved == promised[key], (
                    f"reserved must be what {self.promisers} promise"
                )

        self.run(check())

    promisers = "open orders"

    async def promises(self, session: AsyncSession) -> list[tuple[int | None, int, int]]:
        """(location, SKU, units) of everything that holds units: open orders' allocations."""
        rows = await session.execute(
            select(Allocation.location_id, Allocation.sku_id, Allocation.quantity)
            .join(Order, Order.id == Allocation.order_id)
            .where(Order.status.in_([s.value for s in OPEN_STATUSES]))
        )
        return [(location, sku, quantity) for location, sku, quantity in rows.all()]

    @invariant()
    def open_orders_hold_and_cost_what_their_lines_say(self) -> None:
        async def check() -> None:
            async with self.db.sessionmaker() as session:
                orders = (
                    (
                        await session.execute(
                            select(Order).where(Order.status.in_([s.value for s in OPEN_STATUSES]))
                        )
                    )
                    .scalars()
                    .all()
                )
                for order in orders:
                    lines = (
                        (
                            await session.execute(
                                select(OrderLine).where(OrderLine.order_id == order.id)
                            )
                        )
                        .scalars()
                        .all()
                    )
                    held: dict[int, int] = defaultdict(int)
                    for allocation in (
                        (
                            await session.execute(
                                select(Allocation).where(Allocation.order_id == order.id)
                            )
                        )
                        .scalars()
                        .all()
                    ):
                        held[allocation.sku_id] += allocation.quantity
                    assert {line.sku_id: line.quantity for line in lines if line.quantity} == dict(
                        held
                    ), "an open order holds exactly its lines' units"
                    assert order.total_minor == sum(
                        line.quantity * line.unit_price_minor for line in lines
                    )
                    assert all(0 <= line.ready_quantity <= line.quantity for line in lines)
                    assert any(line.quantity for line in lines), "an empty order is closed"

        self.run(check())

    def teardown(self) -> None:
        self.run(self.db.dispose())
        self.loop.close()


def test_order_book_invariants_hold_under_random_operations(database_url: str) -> None:
    OrderBookMachine.database_url = database_url
    run_state_machine_as_test(
        OrderBookMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
