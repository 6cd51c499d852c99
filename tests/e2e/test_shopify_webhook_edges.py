"""Shopify webhooks act on what the signed body says, and a malformed one is recorded as failed
without holding up the others (issue: re-sending a signed orders/create body under the topic
orders/cancelled cancelled the order; a non-numeric quantity blocked every webhook behind it)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.inventory import availability
from app.orders.tables import Order
from app.platform.database import Database
from app.storefronts import webhooks
from app.storefronts.tables import ShopifyWebhook
from shopify_emulator import RunningEmulator, shopify_hmac
from tests.support.context import context_for
from tests.support.shopify import WEBHOOK_SECRET, connect_shop

Client = AsyncTestClient[Litestar]


def _order(order_id: int, quantity: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "email": "ann@example.com",
        "line_items": [{"sku": "SKU-0000", "quantity": quantity}],
        **extra,
    }


async def _deliver(client: Client, storefront_id: Any, topic: str, body: dict[str, Any]) -> Any:
    raw = json.dumps(body).encode()
    return await client.post(
        f"/webhooks/shopify/{storefront_id}",
        content=raw,
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": shopify_hmac(WEBHOOK_SECRET, raw),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "Content-Type": "application/json",
        },
    )


async def _outcomes(db: Database) -> list[tuple[str, str | None]]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(ShopifyWebhook.topic, ShopifyWebhook.outcome).order_by(ShopifyWebhook.id)
        )
        return [(topic, outcome) for topic, outcome in rows]


async def test_the_topic_header_cannot_cancel_an_order_the_body_does_not_cancel(
    client: Client, db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=1, locations=("STORE-A",))
    await shop.count("STORE-A", [("SKU-0000", 5)])
    created = _order(9001, 2)
    assert (await _deliver(client, shop.storefront_id, "orders/create", created)).status_code == 200
    replayed = await _deliver(client, shop.storefront_id, "orders/cancelled", created)
    assert replayed.status_code == 200

    async with db.sessionmaker() as session:
        assert (await session.execute(select(Order.status))).scalars().all() == ["confirmed"]
    level = await availability.stock_level(context_for(db), "SKU-0000", "STORE-A")
    assert level.reserved == 2
    outcomes = await _outcomes(db)
    assert outcomes[1] == ("orders/cancelled", "failed: the body is not a cancelled order")

    cancelled = _order(9001, 2, cancelled_at="2026-11-30T10:00:00Z", cancel_reason="customer")
    await _deliver(client, shop.storefront_id, "orders/cancelled", cancelled)
    level = await availability.stock_level(context_for(db), "SKU-0000", "STORE-A")
    assert level.reserved == 0


async def test_a_malformed_order_is_recorded_as_failed_and_holds_up_nothing(
    client: Client, db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=1, locations=("STORE-A",))
    await shop.count("STORE-A", [("SKU-0000", 5)])
    bad = await _deliver(client, shop.storefront_id, "orders/create", _order(9002, "two"))
    assert bad.status_code == 200
    good = await _deliver(client, shop.storefront_id, "orders/create", _order(9003, 1))
    assert good.status_code == 200

    outcomes = await _outcomes(db)
    assert outcomes[0] == ("orders/create", "failed: line 'SKU-0000' has quantity 'two'")
    assert outcomes[1][1] is not None and outcomes[1][1].startswith("recorded order")
    assert await webhooks.process_pending_webhooks(context_for(db)) == 0  # nothing left stuck


async def test_an_order_whose_customer_is_not_an_object_is_recorded_as_failed(
    client: Client, db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=1, locations=("STORE-A",))
    for odd in ({"customer": "bob"}, {"email": 7}):
        body = _order(9100 + len(odd), 1, **odd)
        response = await _deliver(client, shop.storefront_id, "orders/create", body)
        assert response.status_code == 200
    outcomes = [outcome for _, outcome in await _outcomes(db)]
    assert all(o is not None and o.startswith("failed: ") for o in outcomes), outcomes
