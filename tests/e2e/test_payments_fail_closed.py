"""Payments fail closed and nobody hoards with unpaid orders (issue: without STRIPE_API_KEY every
web or mobile order, ship included, was confirmed unpaid; a confirmed unpaid order never
expired; nothing capped units per order or open unpaid orders per customer, and four unpaid
orders took all of a SKU)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.config import Settings
from app.inventory import availability
from app.main import create_app
from app.orders import closing, placing
from app.orders.commands import NewOrder
from app.orders.context import OrderContext
from app.orders.model import Fulfilment, TooManyUnpaidOrders
from app.platform.access import Principal, Role
from app.platform.database import Database
from app.platform.tables import utcnow
from tests.conftest import Keys, World
from tests.e2e.test_orders_pickup import level, pickup_order, place, stock
from tests.support.context import context_for

Client = AsyncTestClient[Litestar]

SHIP = {
    "type": "ship",
    "address": {"line1": "1 High St", "city": "London", "postal_code": "N1", "country": "GB"},
}


def ship_order(email: str = "ada@example.com", quantity: int = 1) -> dict[str, Any]:
    return {
        "customer": {"email": email},
        "lines": [{"sku": "TEE-1", "quantity": quantity}],
        "fulfilment": SHIP,
    }


async def test_without_a_provider_web_and_app_orders_are_refused(
    settings: Settings, keys: Keys, world: World
) -> None:
    unconfigured = replace(settings, payments=None, stripe_api_key=None)
    async with AsyncTestClient(app=create_app(unconfigured)) as client:
        await stock(client, keys, "STORE-A", "TEE-1", 5)
        await stock(client, keys, "WH-1", "TEE-1", 5)
        for key in (keys.storefront, keys.mobile):
            for body in (pickup_order(), ship_order()):
                refused = await place(client, key, body)
                assert refused.status_code == 422, refused.text
                error = refused.json()["error"]
                assert error["code"] == "payments_not_configured"
                assert "STRIPE_API_KEY" in error["message"]
        assert (await level(client, keys, "TEE-1", "STORE-A"))["reserved"] == 0
        assert (await level(client, keys, "TEE-1", "WH-1"))["reserved"] == 0
        assert (await client.get("/v1/orders", headers=keys.admin)).json()["items"] == []

        # The back office takes payment in person: its orders still go through.
        in_person = await place(client, keys.admin, {**ship_order(), "channel": "admin"})
        assert in_person.status_code == 201, in_person.text


async def test_at_the_counter_web_orders_are_pickup_only(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    await stock(client, keys, "WH-1", "TEE-1", 5)

    ship = await place(client, keys.storefront, ship_order())
    assert ship.status_code == 422, ship.text
    assert ship.json()["error"]["code"] == "payments_not_configured"
    assert ship.json()["error"]["details"]["accepted"] == ["pickup"]
    assert (await level(client, keys, "TEE-1", "WH-1"))["reserved"] == 0

    pickup = await place(client, keys.mobile, pickup_order())
    assert pickup.status_code == 201, pickup.text
    order = pickup.json()
    assert (order["status"], order["payment"]["status"]) == ("confirmed", "not_required")


async def test_with_stripe_web_ship_orders_wait_for_the_payment(shop: Client, keys: Keys) -> None:
    await stock(shop, keys, "WH-1", "TEE-1", 5)
    created = await place(shop, keys.storefront, ship_order())
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending_payment"


async def test_one_email_may_hold_only_a_few_unpaid_orders(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 10)
    placed = []
    for n in range(3):
        key = keys.storefront if n % 2 == 0 else keys.mobile
        response = await place(client, key, pickup_order(quantity=1, email="Hoard@Example.com"))
        assert response.status_code == 201, response.text
        placed.append(response.json())

    fourth = await place(
        client, keys.storefront, pickup_order(quantity=1, email="hoard@example.com")
    )
    assert fourth.status_code == 422, fourth.text
    assert fourth.json()["error"]["code"] == "too_many_unpaid_orders"
    assert fourth.json()["error"]["details"] == {"open_unpaid_orders": 3, "limit": 3}
    assert (await level(client, keys, "TEE-1", "STORE-A"))["reserved"] == 3

    other = await place(client, keys.storefront, pickup_order(quantity=1, email="bo@example.com"))
    assert other.status_code == 201, other.text

    cancelled = await client.post(f"/v1/orders/{placed[0]['id']}/cancel", headers=keys.admin)
    assert cancelled.status_code == 200, cancelled.text
    again = await place(
        client, keys.storefront, pickup_order(quantity=1, email="hoard@example.com")
    )
    assert again.status_code == 201, again.text


async def test_an_order_is_capped_in_units(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 20_000)
    body = pickup_order(quantity=6_000)
    body["lines"] = [{"sku": "TEE-1", "quantity": 6_000}, {"sku": "TEE-1", "quantity": 6_000}]
    refused = await place(client, keys.admin, body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"] == {"units": 12_000, "limit": 10_000}
    assert (await level(client, keys, "TEE-1", "STORE-A"))["reserved"] == 0


async def test_racing_orders_of_one_email_cannot_pass_the_limit_together(
    db: Database, orders_ctx: OrderContext, world: World
) -> None:
    await world.receive("STORE-A", "TEE-1", 50)
    web = Principal("k-web", "shop", Role.STOREFRONT)

    async def attempt(n: int) -> str:
        data = NewOrder(
            email="racer@example.com",
            lines=[("TEE-1", 1)],
            fulfilment=Fulfilment.PICKUP,
            pickup_location="STORE-A",
        )
        try:
            await placing.place_order(context_for(db), web, data)
        except TooManyUnpaidOrders:
            return "refused"
        return "placed"

    outcomes = await asyncio.gather(*(attempt(n) for n in range(8)))
    assert sorted(outcomes).count("placed") == 3, outcomes


async def test_a_confirmed_unpaid_order_expires(
    orders_ctx: OrderContext, world: World, db: Database
) -> None:
    """Paid at the counter means a pickup confirmed unpaid: nobody collects it, it expires
    after the pickup hold and gives its units back."""
    await world.receive("STORE-A", "TEE-1", 3)
    web = Principal("k-web", "shop", Role.STOREFRONT)
    order = await placing.place_order(
        orders_ctx,
        web,
        NewOrder(
            email="late@example.com",
            lines=[("TEE-1", 2)],
            fulfilment=Fulfilment.PICKUP,
            pickup_location="STORE-A",
        ),
    )
    assert (order.status, order.payment_status) == ("confirmed", "not_required")
    soon = utcnow() + orders_ctx.pickup_hold - timedelta(minutes=1)
    assert await closing.expire_due_orders(orders_ctx, now=soon) == 0
    later = utcnow() + orders_ctx.pickup_hold + timedelta(minutes=1)
    assert await closing.expire_due_orders(orders_ctx, now=later) == 1
    stock_level = await availability.stock_level(context_for(db), "TEE-1", "STORE-A")
    assert (stock_level.on_hand, stock_level.reserved) == (3, 0)
