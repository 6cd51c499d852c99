"""A cart's hold and its expiry reach the storefront: Shopify publishes our available less what
is held, and publishes it again when the worker releases a hold that ran out."""

from __future__ import annotations

from datetime import timedelta

from app.carts import holding
from app.carts.holding import CartChange
from app.platform.access import Principal, Role
from app.platform.database import Database
from shopify_emulator import RunningEmulator
from tests.support.context import context_for
from tests.support.shopify import connect_shop

APP = Principal("k-app", "app", Role.MOBILE)


async def test_shopify_sells_what_is_not_held_and_learns_when_a_hold_ends(
    db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=1, locations=("STORE-A",))
    await shop.receive("SKU-0000", "STORE-A", 5)
    await shop.converge()
    assert shop.theirs("SKU-0000", "STORE-A") == 5

    ctx = context_for(db)
    cart = await holding.start_cart(
        ctx, APP, "ada@example.com", CartChange([("SKU-0000", 3)], "STORE-A")
    )
    await shop.converge()
    assert shop.theirs("SKU-0000", "STORE-A") == 2  # held for Ada: nobody else's

    assert cart.hold is not None
    later = cart.hold.held_until + timedelta(seconds=1)
    assert await holding.expire_due_holds(ctx, now=later) == 1
    await shop.converge()
    assert shop.theirs("SKU-0000", "STORE-A") == 5
    await shop.assert_in_step()
