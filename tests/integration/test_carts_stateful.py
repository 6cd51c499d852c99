"""The order book's random sequences (tests/integration/test_orders_stateful.py) with carts
among them: carts held at a store, changed, extended, expired, checked out as orders and
completed at a counter. After every step the ledger still projects to the levels and
`reserved` is exactly what open orders and live cart holds promise; a hold or an order was
only ever accepted with available stock, and a cart is completed at most once."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import timedelta

from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule, run_state_machine_as_test
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.carts import completing, holding
from app.carts.holding import CartChange
from app.carts.tables import Cart, CartLine
from app.inventory import availability
from app.orders.model import Fulfilment
from app.platform.access import Principal, Role
from app.platform.errors import DomainError, InsufficientStock
from app.platform.tables import utcnow
from app.pos import till as pos_till
from app.pos.till import CounterSale
from tests.integration.test_orders_stateful import ADMIN, SKUS, STORES, WEB, OrderBookMachine

MOBILE = Principal("k-app", "app", Role.MOBILE)


class CartsAndOrdersMachine(OrderBookMachine):
    def __init__(self) -> None:
        super().__init__()
        self.carts: list[uuid.UUID] = []
        self.completions: dict[uuid.UUID, int] = defaultdict(int)

    @rule(
        store=st.sampled_from(STORES),
        sku=st.sampled_from(SKUS),
        quantity=st.integers(1, 4),
        hold=st.booleans(),
    )
    def start_cart(self, store: str, sku: str, quantity: int, hold: bool) -> None:
        change = CartChange([(sku, quantity)], store if hold else None)
        try:
            view = self.run(
                holding.start_cart(self.ctx, MOBILE, f"c{len(self.carts) % 3}@example.com", change)
            )
        except DomainError as refused:
            event(f"cart start: {refused.code}")  # short (409) or over the cap (422)
            return
        event("cart start: done")
        self.carts.append(view.id)
        if view.hold is not None:
            level = self.run(availability.stock_level(self.ctx, sku, view.hold.location))
            assert level.on_hand - level.reserved - level.safety_stock >= 0

    @rule(data=st.data())
    def work_carts(self, data: st.DataObject) -> None:
        """A few steps on carts at a time: starting one is one rule, the rest of its life many."""
        for _ in range(data.draw(st.integers(1, 4))):
            if self.carts:
                self._work_cart(data)

    def _work_cart(self, data: st.DataObject) -> None:
        cart_id = data.draw(st.sampled_from(self.carts))
        action = data.draw(st.sampled_from(["lines", "extend", "checkout", "counter", "move"]))
        try:
            if action == "lines":
                lines = data.draw(
                    st.lists(
                        st.tuples(st.sampled_from(SKUS), st.integers(1, 3)),
                        max_size=2,
                        unique_by=lambda line: line[0],
                    )
                )
                self.run(holding.change_lines(self.ctx, WEB, cart_id, CartChange(lines)))
            elif action == "move":
                view = self.run(completing.lines_for_counter(self.ctx, cart_id, STORES[0]))
                lines = [(line.sku, line.quantity) for line in view[0]] or [(SKUS[0], 1)]
                store = data.draw(st.sampled_from(STORES))
                self.run(holding.change_lines(self.ctx, WEB, cart_id, CartChange(lines, store)))
            elif action == "extend":
                self.run(holding.extend_hold(self.ctx, MOBILE, cart_id))
            elif action == "checkout":
                # at the store holding it, or (drawn) another: the hold moves to the order
                store = data.draw(st.sampled_from([None, *STORES]))
                checkout = completing.Checkout(Fulfilment.PICKUP, pickup_location=store)
                self.run(completing.check_out(self.ctx, ADMIN, cart_id, checkout))
                self.completions[cart_id] += 1
            else:
                store = data.draw(st.sampled_from(STORES))
                self.txn += 1
                till = Principal("k-pos", "till", Role.POS, store)
                self.run(
                    pos_till.record_sale(
                        self.ctx,
                        till,
                        CounterSale(f"cart-{self.txn}", store, utcnow(), [], cart_id=cart_id),
                    )
                )
                self.completions[cart_id] += 1
        except (DomainError, InsufficientStock) as refused:
            event(f"cart {action}: {refused.code}")  # refusals change nothing (the invariants)
            return
        event(f"cart {action}: done")

    @rule()
    def holds_run_out(self) -> None:
        later = utcnow() + 2 * self.ctx.cart_hold + timedelta(seconds=1)
        self.run(holding.expire_due_holds(self.ctx, now=later))

    promisers = "open orders and live cart holds"

    async def promises(self, session: AsyncSession) -> list[tuple[int | None, int, int]]:
        """Open orders' allocations, and the units cart lines hold at their carts' stores."""
        carts = await session.execute(
            select(Cart.hold_location_id, CartLine.sku_id, CartLine.held)
            .join(CartLine, CartLine.cart_id == Cart.id)
            .where(CartLine.held > 0)
        )
        held = [(location, sku, units) for location, sku, units in carts.all()]
        return [*await super().promises(session), *held]

    @invariant()
    def a_cart_is_completed_once(self) -> None:
        assert all(n <= 1 for n in self.completions.values())


def test_carts_and_orders_never_oversell_under_random_operations(database_url: str) -> None:
    CartsAndOrdersMachine.database_url = database_url
    run_state_machine_as_test(
        CartsAndOrdersMachine,
        settings=settings(
            max_examples=25,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
