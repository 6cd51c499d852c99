"""Holds and orders racing for the last units never oversell, and a cart that several channels
try to complete at once is completed exactly once (run on PostgreSQL in CI)."""

from __future__ import annotations

import asyncio

from app.bootstrap import AppContext
from app.carts import completing, holding
from app.carts.holding import CartChange
from app.inventory import availability
from app.orders import placing
from app.orders.commands import NewOrder
from app.orders.model import Fulfilment
from app.platform.access import Principal, Role
from app.platform.errors import DomainError, InsufficientStock, InvalidTransition
from app.platform.tables import utcnow
from app.pos import till
from app.pos.till import CounterSale
from tests.conftest import World
from tests.fault import audit

WEB = Principal("k-web", "web", Role.STOREFRONT)
APP = Principal("k-app", "app", Role.MOBILE)
TILL = Principal("k-pos", "till", Role.POS, "STORE-A")


async def test_holds_and_orders_racing_for_the_last_units_never_oversell(
    ctx: AppContext, world: World, database_url: str
) -> None:
    await world.receive("STORE-A", "TEE-1", 3)

    async def hold(n: int) -> object:
        return await holding.start_cart(
            ctx, APP, f"h{n}@example.com", CartChange([("TEE-1", 1)], "STORE-A")
        )

    async def order(n: int) -> object:
        data = NewOrder(f"o{n}@example.com", [("TEE-1", 1)], Fulfilment.PICKUP, "STORE-A")
        return await placing.place_order(ctx, WEB, data)

    outcomes = await asyncio.gather(
        *(attempt(n) for n in range(6) for attempt in (hold, order)), return_exceptions=True
    )
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, InsufficientStock) for o in refused), refused
    assert len(outcomes) - len(refused) == 3  # every unit promised once, none twice
    level = await availability.stock_level(ctx, "TEE-1", "STORE-A")
    assert (level.on_hand, level.reserved, level.available) == (3, 3, 0)
    books = await audit.read_books(database_url)
    assert audit.levels_not_matching_their_movements(books) == []
    assert audit.reserved_not_held_by_open_orders(books) == []


async def test_a_cart_is_completed_once_however_many_channels_try(
    ctx: AppContext, world: World, database_url: str
) -> None:
    await world.receive("STORE-A", "TEE-1", 2)
    cart = await holding.start_cart(
        ctx, APP, "ada@example.com", CartChange([("TEE-1", 2)], "STORE-A")
    )
    pickup = completing.Checkout(Fulfilment.PICKUP)
    sale = CounterSale("till-9:1", "STORE-A", utcnow(), [], cart_id=cart.id)
    outcomes = await asyncio.gather(
        completing.check_out(ctx, WEB, cart.id, pickup),
        till.record_sale(ctx, TILL, sale),
        completing.check_out(ctx, APP, cart.id, pickup),
        return_exceptions=True,
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1, outcomes
    assert all(isinstance(o, InvalidTransition) for o in lost), lost
    level = await availability.stock_level(ctx, "TEE-1", "STORE-A")
    # either an order reserves the two held units, or the counter sold them: never both
    assert (level.on_hand, level.reserved) in ((2, 2), (0, 0))
    books = await audit.read_books(database_url)
    assert audit.levels_not_matching_their_movements(books) == []
    assert audit.reserved_not_held_by_open_orders(books) == []
    assert not isinstance(won[0], DomainError)
