"""Order topics and the order sweep with real webhooks: the emulator loses a tenth of its
order webhooks, and after the sweep our order book and stock match Shopify's."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from app.config import Settings
from app.inventory import availability
from app.orders.tables import Order
from app.platform.database import Database
from app.storefronts import order_sweep
from app.storefronts.tables import ShopifyWebhook
from shopify_emulator import RunningEmulator
from tests.support.context import context_for
from tests.support.shopify import WEBHOOK_SECRET, ConnectedShop, RunningApp, connect_shop

TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/fulfilled",
    "fulfillments/create",
    "refunds/create",
)
STOCK = 60


async def our_orders(db: Database) -> dict[str, str]:
    async with db.sessionmaker() as session:
        rows = await session.execute(select(Order.external_id, Order.status))
        return {external_id: status for external_id, status in rows}


async def levels(shop: ConnectedShop) -> dict[tuple[str, str], tuple[int, int]]:
    found = {}
    for sku in shop.skus:
        for location in shop.locations:
            level = await availability.stock_level(context_for(shop.db), sku, location)
            found[(sku, location)] = (level.on_hand, level.reserved)
    return found


def expected_levels(shop: ConnectedShop, orders: list[dict[str, Any]]) -> dict[Any, Any]:
    """What Shopify's orders mean for our stock: shipped units left STORE-A, open orders
    hold theirs there, returned units are back where each refund says."""
    on_hand: Counter[tuple[str, str]] = Counter()
    reserved: Counter[tuple[str, str]] = Counter()
    names = {shop.emulator.shop.resolve_location(code).id: code for code in shop.locations}
    for order in orders:
        for line in order["line_items"]:
            key = (line["sku"], "STORE-A")
            if order["fulfillment_status"] == "fulfilled":
                on_hand[key] -= line["quantity"]
            elif not order["cancelled_at"]:
                reserved[key] += line["quantity"]
        for refund in order["refunds"]:
            for x in refund["refund_line_items"]:
                if x["restock_type"] == "return":
                    on_hand[(x["line_item"]["sku"], names[x["location_id"]])] += x["quantity"]
    return {
        (sku, loc): (STOCK + on_hand[(sku, loc)], reserved[(sku, loc)])
        for sku in shop.skus
        for loc in shop.locations
    }


async def test_after_the_sweep_the_books_match_though_a_tenth_of_order_webhooks_were_lost(
    settings: Settings, db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=3, locations=("STORE-A", "WH-1"))
    for location in shop.locations:
        await shop.count(location, [(sku, STOCK) for sku in shop.skus])
    await shop.converge()
    remote = emulator.shop
    with RunningApp(settings) as api:
        for topic in TOPICS:
            remote.subscribe_webhook(
                topic,
                f"{api.base_url}/webhooks/shopify/{shop.storefront_id}",
                secret=WEBHOOK_SECRET,
            )
        emulator.state.webhooks.drop_order_webhooks(0.10, seed=14)
        created = [
            remote.create_order(
                "STORE-A",
                [{"sku": shop.skus[n % 3], "quantity": 1 + n % 2}, {"sku": shop.skus[2]}],
            )
            for n in range(24)
        ]
        for order in created[:4]:
            remote.cancel_order(order["id"])
        for order in created[4:14]:
            remote.fulfill_order(order["id"])
        for order in created[4:8]:  # returned to the warehouse, restocked there
            remote.refund_order(
                order["id"], [{"sku": shop.skus[2], "quantity": 1}], location="WH-1"
            )
        # and one fulfilment whose three webhooks are all lost, whatever the dice say
        emulator.state.webhooks.drop_next(3)
        remote.fulfill_order(created[14]["id"])
        assert emulator.state.webhooks.wait_idle(10)
    outcomes = Counter(d["outcome"] for d in emulator.state.webhooks.deliveries())
    assert outcomes["dropped"] >= 5 and outcomes["delivered"] >= 50, outcomes

    orders = remote.orders_json()
    theirs = {
        o["admin_graphql_api_id"]: (
            "cancelled"
            if o["cancelled_at"]
            else "shipped"
            if o["fulfillment_status"]
            else "confirmed"
        )
        for o in orders
    }
    before = await our_orders(db)
    assert before[created[14]["admin_graphql_api_id"]] == "confirmed"  # not shipped here yet
    assert await levels(shop) != expected_levels(shop, orders)

    report = await order_sweep.sweep_orders(context_for(db, sync=shop.config), shop.storefront_id)

    assert report.read == 24 and report.failed == 0
    ours = await our_orders(db)
    # an order created and cancelled while both its webhooks were lost never held stock here
    assert {k: v for k, v in theirs.items() if k in ours or v != "cancelled"} == ours
    assert await levels(shop) == expected_levels(shop, orders)

    again = await order_sweep.sweep_orders(context_for(db, sync=shop.config), shop.storefront_id)
    assert again.read == 24  # the overlap reads them again; nothing changes
    assert await our_orders(db) == ours
    assert await levels(shop) == expected_levels(shop, orders)
    async with db.sessionmaker() as session:
        stored = (await session.execute(select(ShopifyWebhook.outcome))).scalars().all()
    assert not [o for o in stored if o is None or o.startswith(("failed", "refused"))]
