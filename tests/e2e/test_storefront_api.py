"""Storefronts and Shopify webhooks over HTTP, with the emulator as Shopify."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.config import Settings
from app.inventory import availability
from app.orders.tables import Order
from app.platform.database import Database
from app.storefronts.tables import ShopifyWebhook
from shopify_emulator import RunningEmulator, shopify_hmac
from tests.conftest import Keys
from tests.support.context import context_for
from tests.support.shopify import (
    WEBHOOK_SECRET,
    RunningApp,
    connect_shop,
    wait_for,
)

Client = AsyncTestClient[Litestar]


def storefront_body(emulator: RunningEmulator, **overrides: Any) -> dict[str, Any]:
    shop = emulator.shop
    body: dict[str, Any] = {
        "kind": "shopify",
        "name": "Main shop",
        "shop_domain": shop.domain,
        "api_version": "2026-10",
        "webhook_secret": WEBHOOK_SECRET,
        "access_token": emulator.access_token,
        "locations": [
            {"location": "STORE-A", "external_location_id": shop.add_location("Oxford").gid},
            {"location": "WH-1", "external_location_id": str(shop.add_location("WH").id)},
        ],
        "buffer": 1,
        "api_base_url": emulator.base_url,
    }
    body.update(overrides)
    return body


async def test_connect_map_and_push_a_storefront_over_http(
    client: Client, keys: Keys, emulator: RunningEmulator
) -> None:
    item = emulator.shop.add_item("TEE-1")
    created = await client.post(
        "/v1/storefronts", json=storefront_body(emulator), headers=keys.admin
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["auth"] == "access_token" and body["buffer"] == 1
    assert body["locations"][1]["external_location_id"].startswith("gid://shopify/Location/")
    assert emulator.access_token not in created.text and WEBHOOK_SECRET not in created.text
    storefront = f"/v1/storefronts/{body['id']}"

    mapped = await client.put(
        f"{storefront}/mappings",
        headers=keys.admin,
        json={"items": [{"sku": "TEE-1", "external_inventory_item_id": item.gid}]},
    )
    assert mapped.status_code == 200 and mapped.json()["mapped"] == 1
    await client.post(
        "/v1/stock/movements",
        headers={**keys.admin, "Idempotency-Key": "m1"},
        json={"location": "STORE-A", "sku": "TEE-1", "kind": "receipt", "quantity": 6},
    )
    sync = (await client.get(f"{storefront}/sync", headers=keys.admin)).json()
    assert sync["pending"] == 2 and sync["lag_seconds"] >= 0 and sync["calls_made"] == 0

    resync = await client.post(f"{storefront}/resync", headers=keys.admin)

    assert resync.status_code == 200, resync.text
    # one call a reason: STORE-A's receipt ("received"), WH-1 never moved ("correction")
    assert resync.json()["sync"]["pending"] == 0 and resync.json()["calls"] == 2
    reasons = {g["reason"] for g in emulator.shop.audit_log(source="graphql") if g["mutation"]}
    assert reasons == {"received", "correction"}
    assert emulator.shop.quantity("TEE-1", "Oxford") == 5  # 6 less the buffer of 1
    listed = (await client.get("/v1/storefronts", headers=keys.readonly)).json()["items"]
    assert [s["id"] for s in listed] == [body["id"]]
    one = await client.get(storefront, headers=keys.admin)
    assert one.json()["mapped_skus"] == 1 and "access_token" not in one.json()
    for response in (created, mapped, resync, one):
        assert "shpat_" not in response.text

    emulator.shop.manual_edit("TEE-1", "Oxford", quantity=40)
    reconcile = await client.post(f"{storefront}/reconcile", headers=keys.admin)
    assert reconcile.json() == {
        "checked": 2,
        "drifted": [{"sku": "TEE-1", "location": "STORE-A", "ours": 5, "theirs": 40}],
        "repaired": 1,
    }
    assert emulator.shop.quantity("TEE-1", "Oxford") == 5


async def test_storefront_requests_are_checked(
    client: Client, keys: Keys, emulator: RunningEmulator
) -> None:
    both = storefront_body(emulator, client_id="x", client_secret="y")
    neither = storefront_body(emulator, access_token=None)
    half = storefront_body(emulator, access_token=None, client_id="x")
    for body in (both, neither, half):
        response = await client.post("/v1/storefronts", json=body, headers=keys.admin)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"
    bad_location = storefront_body(emulator)
    bad_location["locations"][0]["location"] = "NOWHERE"
    response = await client.post("/v1/storefronts", json=bad_location, headers=keys.admin)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    forbidden = await client.post(
        "/v1/storefronts", json=storefront_body(emulator), headers=keys.storefront
    )
    assert forbidden.status_code == 403
    assert (await client.get("/v1/storefronts", headers=keys.pos)).status_code == 403
    missing = await client.get(
        "/v1/storefronts/00000000-0000-0000-0000-000000000000/sync", headers=keys.admin
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    created = await client.post(
        "/v1/storefronts", json=storefront_body(emulator), headers=keys.admin
    )
    unknown_sku = await client.put(
        f"/v1/storefronts/{created.json()['id']}/mappings",
        headers=keys.admin,
        json={"items": [{"sku": "NOPE", "external_inventory_item_id": "123"}]},
    )
    assert unknown_sku.status_code == 404


async def test_a_webhook_with_a_bad_signature_is_401_and_not_stored(
    client: Client, db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=1)
    body = json.dumps({"inventory_item_id": 1, "location_id": 2, "available": 3}).encode()
    url = f"/webhooks/shopify/{shop.storefront_id}"

    for signature in (shopify_hmac("wrong-secret", body), None):
        headers = {
            "X-Shopify-Topic": "inventory_levels/update",
            "X-Shopify-Event-Id": "e1",
            "Content-Type": "application/json",
        }
        if signature:
            headers["X-Shopify-Hmac-Sha256"] = signature
        response = await client.post(url, content=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"

    async with db.sessionmaker() as session:
        count = await session.execute(select(func.count()).select_from(ShopifyWebhook))
        assert count.scalar_one() == 0


async def test_manual_edit_in_shopify_arrives_by_webhook_once_and_is_repaired(
    settings: Settings, db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=2, locations=("STORE-A",))
    await shop.count("STORE-A", [("SKU-0000", 7), ("SKU-0001", 2)])
    await shop.converge()
    with RunningApp(settings) as api:
        emulator.shop.subscribe_webhook(
            "inventory_levels/update",
            f"{api.base_url}/webhooks/shopify/{shop.storefront_id}",
            secret=WEBHOOK_SECRET,
        )
        emulator.state.webhooks.duplicate_next(1)  # Shopify delivers at least once

        emulator.shop.manual_edit("SKU-0000", "STORE-A", quantity=50)
        assert emulator.state.webhooks.wait_idle(5)

        async def drift_noted() -> bool:
            return await shop.pending() == 1

        await wait_for(drift_noted)
        await shop.converge()
        assert emulator.state.webhooks.wait_idle(5)  # our push echoes back: in step

    assert shop.theirs("SKU-0000", "STORE-A") == 7
    async with db.sessionmaker() as session:
        stored = list(
            (await session.execute(select(ShopifyWebhook).order_by(ShopifyWebhook.id))).scalars()
        )
    delivered = [d for d in emulator.state.webhooks.deliveries() if d["outcome"] == "delivered"]
    assert len(delivered) == 3  # the edit twice (a duplicate), then the echo of our push
    assert len(stored) == 2  # the duplicate was recognised by its event id
    assert stored[0].outcome is not None and stored[0].outcome.startswith("drift")
    assert stored[1].outcome == "in step" and stored[1].processed_at is not None


async def test_shopify_orders_reserve_and_release_through_the_order_book(
    settings: Settings, db: Database, emulator: RunningEmulator
) -> None:
    shop = await connect_shop(db, emulator, sku_count=1, locations=("STORE-A",))
    await shop.count("STORE-A", [("SKU-0000", 5)])
    await shop.converge()
    with RunningApp(settings) as api:
        for topic in ("orders/create", "orders/cancelled"):
            emulator.shop.subscribe_webhook(
                topic,
                f"{api.base_url}/webhooks/shopify/{shop.storefront_id}",
                secret=WEBHOOK_SECRET,
            )
        order = emulator.shop.create_order("STORE-A", [{"sku": "SKU-0000", "quantity": 2}])
        emulator.shop.cancel_order(order["id"])
        assert emulator.state.webhooks.wait_idle(5)

    async with db.sessionmaker() as session:
        stored = list(
            (await session.execute(select(ShopifyWebhook).order_by(ShopifyWebhook.id))).scalars()
        )
    assert [w.topic for w in stored] == ["orders/create", "orders/cancelled"]
    assert stored[0].payload["line_items"][0]["sku"] == "SKU-0000"
    assert stored[0].payload["id"] == order["id"]  # ids above 2**53 survive exactly
    assert stored[0].outcome is not None
    assert stored[0].outcome.startswith("recorded order S-")
    assert stored[0].outcome.endswith(f"for {order['admin_graphql_api_id']}")
    assert stored[1].outcome == f"cancelled order {order['admin_graphql_api_id']}"
    assert all(w.processed_at is not None for w in stored)
    level = await availability.stock_level(context_for(db), "SKU-0000", "STORE-A")
    assert level.reserved == 0 and level.on_hand == 5  # reserved by the order, released
    async with db.sessionmaker() as session:
        channels = (await session.execute(select(Order.channel, Order.status))).all()
    assert [tuple(row) for row in channels] == [("shopify", "cancelled")]


async def test_api_base_url_only_where_allowed(
    client: Client, keys: Keys, emulator: RunningEmulator
) -> None:
    """An admin cannot make the service call any URL it types (issue: api_base_url let an admin
    reach internal addresses and read their answers back)."""
    for url in ("http://169.254.169.254", "http://10.0.0.7:8080", "https://example.internal"):
        body = storefront_body(emulator, api_base_url=url)
        response = await client.post("/v1/storefronts", headers=keys.admin, json=body)
        assert response.status_code == 422, url
        assert "SHOPIFY_API_BASE_URLS" in response.json()["error"]["message"]
    local = await client.post("/v1/storefronts", headers=keys.admin, json=storefront_body(emulator))
    assert local.status_code == 201  # the emulator on loopback: allowed in development


def test_production_allows_no_api_base_url_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNISTOCK_ENV", "production")
    monkeypatch.delenv("SHOPIFY_API_BASE_URLS", raising=False)
    assert Settings.from_env().shopify_api_base_urls == ()
    monkeypatch.setenv("SHOPIFY_API_BASE_URLS", "https://proxy.example.com/")
    assert Settings.from_env().shopify_api_base_urls == ("https://proxy.example.com/",)
