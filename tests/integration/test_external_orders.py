"""Orders taken on an external storefront (Shopify) enter the same order book."""

from __future__ import annotations

from app.inventory import availability, movements
from app.inventory.rules import MovementKind
from app.orders import external
from app.orders.context import OrderContext
from app.orders.repository import OrderRepository
from tests.conftest import ADMIN, World
from tests.support.context import context_for


async def receive(world: World, location: str, sku: str, quantity: int) -> None:
    await movements.record_movement(
        context_for(world.db),
        ADMIN,
        location=location,
        sku=sku,
        kind=MovementKind.RECEIPT,
        quantity=quantity,
    )


async def test_a_shopify_order_reserves_at_its_location_once(
    world: World, orders_ctx: OrderContext
) -> None:
    await receive(world, "STORE-A", "TEE-1", 5)
    view = await external.record_external_order(
        orders_ctx,
        channel="shopify",
        external_id="gid://shopify/Order/1",
        lines=[("TEE-1", 2)],
        customer_email="eve@example.com",
        location="STORE-A",
    )
    again = await external.record_external_order(
        orders_ctx,
        channel="shopify",
        external_id="gid://shopify/Order/1",
        lines=[("TEE-1", 2)],
        customer_email="eve@example.com",
        location="STORE-A",
    )
    assert again.id == view.id
    assert view.channel == "shopify" and view.status == "confirmed"
    assert view.payment_status == "paid_externally"
    assert [(a.location, a.quantity) for a in view.allocations] == [("STORE-A", 2)]
    level = await availability.stock_level(context_for(world.db), "TEE-1", "STORE-A")
    assert level.reserved == 2

    cancelled = await external.cancel_external_order(
        orders_ctx, channel="shopify", external_id="gid://shopify/Order/1"
    )
    assert cancelled is not None and cancelled.status == "cancelled"
    level = await availability.stock_level(context_for(world.db), "TEE-1", "STORE-A")
    assert level.reserved == 0
    assert (
        await external.cancel_external_order(
            orders_ctx, channel="shopify", external_id="gid://shopify/Order/404"
        )
        is None
    )


async def test_short_stock_is_recorded_and_reported_not_dropped(
    world: World, orders_ctx: OrderContext
) -> None:
    await receive(world, "STORE-A", "TEE-1", 1)
    view = await external.record_external_order(
        orders_ctx,
        channel="shopify",
        external_id="gid://shopify/Order/2",
        lines=[("TEE-1", 3), ("GHOST", 1)],
        customer_email=None,
        location="STORE-A",
    )
    assert view.at_risk is True
    assert view.allocations == []
    assert [line.sku for line in view.lines] == ["TEE-1"]
    async with context_for(world.db).uow(readonly=True) as uow:
        summaries = [e.summary for e, _ in await OrderRepository.of(uow).events(view.id)]
    assert any("unknown SKU GHOST" in s and "not enough stock" in s for s in summaries)
    level = await availability.stock_level(context_for(world.db), "TEE-1", "STORE-A")
    assert level.reserved == 0
