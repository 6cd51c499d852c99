"""The emulator's order side: fulfilments and refunds with Shopify's payloads, the orders
query a sweep reads, webhook subscriptions over GraphQL, and losing a share of webhooks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shopify_emulator import RunningEmulator, ShopState

ORDERS = """
query($query: String) {
  orders(first: 2, query: $query, sortKey: UPDATED_AT) {
    nodes {
      id displayFulfillmentStatus cancelledAt retailLocation { id name }
      lineItems(first: 5) { nodes { sku quantity currentQuantity } }
      refunds(first: 5) { id refundLineItems(first: 5) {
        nodes { quantity restockType location { id } lineItem { sku } } } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

SUBSCRIBE = """
mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    with RunningEmulator() as emulator:
        yield emulator


@pytest.fixture
def shop(running: RunningEmulator) -> Iterator[ShopState]:
    running.state.reset()
    shop = running.shop
    shop.seed(
        {"locations": ["Store", "Warehouse"], "items": [{"sku": "A", "levels": {"Store": 9}}]}
    )
    yield shop
    running.state.reset()


def ask(emulator: RunningEmulator, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{emulator.base_url}/admin/api/2026-10/graphql.json",
        json={"query": query, "variables": variables},
        headers={"X-Shopify-Access-Token": emulator.access_token},
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_fulfil_and_refund_move_stock_and_read_back_through_the_orders_query(
    running: RunningEmulator, shop: ShopState
) -> None:
    order = shop.create_order("Store", [{"sku": "A", "quantity": 3}])
    shop.fulfill_order(order["id"])
    assert shop.quantity("A", "Store", "on_hand") == 6
    refund = shop.refund_order(order["id"], [{"sku": "A", "quantity": 2}], location="Warehouse")
    line = refund["refund_line_items"][0]
    assert line["restock_type"] == "return" and line["line_item"]["sku"] == "A"
    assert line["location_id"] == shop.resolve_location("Warehouse").id
    assert shop.quantity("A", "Warehouse") == 2

    second = shop.create_order("Store", [{"sku": "A", "quantity": 1}])
    shop.refund_order(second["id"], [{"sku": "A", "quantity": 1}])  # before fulfilment
    assert shop.quantity("A", "Store") == 6  # back from committed: a `cancel` restock

    data = ask(running, ORDERS, {"query": "updated_at:>='2000-01-01T00:00:00Z'"})
    nodes = data["orders"]["nodes"]
    assert [n["displayFulfillmentStatus"] for n in nodes] == ["FULFILLED", "UNFULFILLED"]
    restocked = nodes[0]["refunds"][0]["refundLineItems"]["nodes"][0]
    assert restocked["restockType"] == "RETURN" and restocked["location"]["id"].endswith(
        f"/{shop.resolve_location('Warehouse').id}"
    )
    assert nodes[1]["lineItems"]["nodes"][0]["currentQuantity"] == 0
    assert nodes[0]["retailLocation"]["name"] == "Store"
    later = ask(running, ORDERS, {"query": "updated_at:>'2999-01-01T00:00:00Z'"})
    assert later["orders"]["nodes"] == []


def test_subscriptions_over_graphql_and_a_share_of_order_webhooks_lost(
    running: RunningEmulator, shop: ShopState
) -> None:
    address = "http://127.0.0.1:9/hooks"
    created = ask(running, SUBSCRIBE, {"topic": "ORDERS_CREATE", "uri": address})
    assert created["webhookSubscriptionCreate"]["webhookSubscription"]["uri"] == address
    twice = ask(running, SUBSCRIBE, {"topic": "ORDERS_CREATE", "uri": address})
    assert twice["webhookSubscriptionCreate"]["userErrors"]
    assert [s.topic for s in shop.subscriptions.values()] == ["orders/create"]

    running.state.webhooks.drop_order_webhooks(0.5, seed=1)
    for _ in range(20):
        shop.create_order("Store", [{"sku": "A", "quantity": 1}])
    outcomes = [d["outcome"] for d in running.state.webhooks.deliveries()]
    assert 3 <= outcomes.count("dropped") <= 17 and len(outcomes) >= outcomes.count("dropped")
