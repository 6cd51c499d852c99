"""The order topics over HTTP with the emulator's bodies: a fulfilment takes the units, a
refund with restock puts them back where Shopify says, once, and the body decides."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.inventory import availability
from app.orders.tables import Order
from app.platform.database import Database
from shopify_emulator import RunningEmulator
from shopify_emulator.payloads import fulfillment_payload
from tests.e2e.test_shopify_webhook_edges import _deliver, _outcomes
from tests.support.context import context_for
from tests.support.shopify import ConnectedShop, connect_shop

Client = AsyncTestClient[Litestar]


async def level(shop: ConnectedShop, sku: str, location: str) -> tuple[int, int]:
    found = await availability.stock_level(context_for(shop.db), sku, location)
    return found.on_hand, found.reserved


async def status(db: Database) -> list[str]:
    async with db.sessionmaker() as session:
        return list((await session.execute(select(Order.status))).scalars())


async def placed(client: Client, db: Database, emulator: RunningEmulator) -> Any:
    shop = await connect_shop(db, emulator, sku_count=1, locations=("STORE-A", "WH-1"))
    await shop.count("STORE-A", [("SKU-0000", 10)])
    order = emulator.shop.create_order("STORE-A", [{"sku": "SKU-0000", "quantity": 3}])
    assert (await _deliver(client, shop.storefront_id, "orders/create", order)).status_code == 200
    assert await level(shop, "SKU-0000", "STORE-A") == (10, 3)
    return shop, order


async def test_a_fulfilment_takes_the_units_and_a_refund_restocks_where_shopify_says(
    client: Client, db: Database, emulator: RunningEmulator
) -> None:
    shop, order = await placed(client, db, emulator)
    fulfilled = emulator.shop.fulfill_order(order["id"])
    record = emulator.shop.orders[order["id"]]
    body = fulfillment_payload(record, record.fulfillments[0])
    assert body["line_items"][0]["sku"] == "SKU-0000" and body["status"] == "success"

    # the fulfilled order re-sent under orders/cancelled does not cancel it
    await _deliver(client, shop.storefront_id, "orders/cancelled", fulfilled)
    assert await status(db) == ["confirmed"]
    await _deliver(client, shop.storefront_id, "fulfillments/create", body)
    assert await status(db) == ["shipped"]
    assert await level(shop, "SKU-0000", "STORE-A") == (7, 0)
    await _deliver(client, shop.storefront_id, "orders/fulfilled", fulfilled)  # a repeat
    assert await level(shop, "SKU-0000", "STORE-A") == (7, 0)

    refund = emulator.shop.refund_order(
        order["id"], [{"sku": "SKU-0000", "quantity": 2}], location="WH-1"
    )
    assert refund["refund_line_items"][0]["restock_type"] == "return"
    for _ in range(2):  # a second delivery of the same refund (another event) adds nothing
        await _deliver(client, shop.storefront_id, "refunds/create", refund)
    assert await level(shop, "SKU-0000", "WH-1") == (2, 0)
    assert await level(shop, "SKU-0000", "STORE-A") == (7, 0)
    updated = emulator.shop.orders_json()[0]  # orders/updated carries the refund too
    await _deliver(client, shop.storefront_id, "orders/updated", updated)
    assert await level(shop, "SKU-0000", "WH-1") == (2, 0)

    outcomes = [outcome or "" for _, outcome in await _outcomes(db)]
    assert outcomes[1] == "failed: the body is not a cancelled order"
    assert outcomes[2].endswith(" is shipped")
    assert "2 unit(s) restocked" in outcomes[4] and "0 unit(s) restocked" in outcomes[5]


async def test_an_updated_order_cancels_only_when_its_body_is_cancelled(
    client: Client, db: Database, emulator: RunningEmulator
) -> None:
    shop, order = await placed(client, db, emulator)
    await _deliver(client, shop.storefront_id, "orders/updated", order)
    assert await status(db) == ["confirmed"]
    cancelled = emulator.shop.cancel_order(order["id"])
    await _deliver(client, shop.storefront_id, "orders/updated", cancelled)
    assert await status(db) == ["cancelled"]
    assert await level(shop, "SKU-0000", "STORE-A") == (10, 0)


async def test_a_refund_before_the_order_is_shipped_here_waits_for_it(
    client: Client, db: Database, emulator: RunningEmulator
) -> None:
    shop, order = await placed(client, db, emulator)
    emulator.shop.fulfill_order(order["id"])
    refund = emulator.shop.refund_order(order["id"], [{"sku": "SKU-0000", "quantity": 1}])
    await _deliver(client, shop.storefront_id, "refunds/create", refund)  # fulfilment unheard
    assert await level(shop, "SKU-0000", "STORE-A") == (10, 3)
    await _deliver(client, shop.storefront_id, "orders/updated", emulator.shop.orders_json()[0])
    assert await status(db) == ["shipped"]
    assert await level(shop, "SKU-0000", "STORE-A") == (8, 0)  # 3 shipped, 1 back
