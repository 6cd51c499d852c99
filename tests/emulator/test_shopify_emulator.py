"""The local Shopify Admin API emulator, exercised over HTTP (mostly through the real
ShopifyAPI library) and through its Python control methods."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import shopify

from shopify_emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_SHOP_DOMAIN,
    ManualClock,
    RunningEmulator,
    ShopState,
)

VERSION = "2026-10"

SET_MUTATION = """
mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      createdAt reason referenceDocumentUri
      changes { name delta quantityAfterChange item { id } location { id } }
    }
    userErrors { field message code }
  }
}
"""

SET_MUTATION_NO_KEY = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}
"""

ADJUST_MUTATION = """
mutation Adjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { createdAt reason changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}
"""

LEVEL_QUERY = """
query Level($id: ID!) {
  inventoryLevel(id: $id) {
    id
    quantities(names: ["available", "incoming", "committed", "damaged", "on_hand",
                       "quality_control", "reserved", "safety_stock"]) { name quantity }
    item { id sku }
    location { id name }
  }
}
"""


# ---- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(start=1_790_000_000.0)


@pytest.fixture(scope="module")
def running(clock: ManualClock) -> Iterator[RunningEmulator]:
    with RunningEmulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
def emulator(running: RunningEmulator) -> Iterator[RunningEmulator]:
    """The shared server, reset to a fresh default shop for each test."""
    running.state.reset()
    yield running
    running.state.reset()


@pytest.fixture
def shop(emulator: RunningEmulator) -> ShopState:
    """Two locations and two items; SKU-A is stocked at both, SKU-B at the warehouse."""
    shop = emulator.shop
    shop.seed(
        {
            "locations": ["Warehouse", "Store"],
            "items": [
                {
                    "sku": "SKU-A",
                    "levels": {"Warehouse": 10, "Store": {"available": 4, "committed": 1}},
                },
                {"sku": "SKU-B", "levels": {"Warehouse": 3}},
            ],
        }
    )
    return shop


@pytest.fixture
def shopify_api(emulator: RunningEmulator) -> Iterator[None]:
    """Point the real ShopifyAPI library at the emulator, the way the facts doc describes."""
    shopify.ShopifyResource.site = f"{emulator.base_url}/admin/api/{VERSION}"
    shopify.ShopifyResource.set_headers({"X-Shopify-Access-Token": emulator.access_token})
    yield
    shopify.ShopifyResource.clear_session()
    shopify.ShopifyResource.set_headers({})


def run_graphql(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    raw = shopify.GraphQL().execute(query, variables=variables)
    parsed: dict[str, Any] = json.loads(raw)
    return parsed


def post_graphql(
    emulator: RunningEmulator,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    version: str = VERSION,
    token: str | None = None,
) -> httpx.Response:
    return httpx.post(
        f"{emulator.base_url}/admin/api/{version}/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": token or emulator.access_token},
        timeout=10,
    )


def set_input(
    shop: ShopState,
    entries: list[dict[str, Any]],
    *,
    name: str = "available",
    reason: str = "correction",
) -> dict[str, Any]:
    """Build InventorySetQuantitiesInput from (sku, location, quantity, extra...) dicts."""
    quantities = []
    for entry in entries:
        extra = {k: v for k, v in entry.items() if k not in ("sku", "location", "quantity")}
        quantities.append(
            {
                "inventoryItemId": shop.resolve_item(entry["sku"]).gid,
                "locationId": shop.resolve_location(entry["location"]).gid,
                "quantity": entry["quantity"],
                **extra,
            }
        )
    return {
        "name": name,
        "reason": reason,
        "referenceDocumentUri": "gid://omnistock/StockMovement/1",
        "quantities": quantities,
    }


@dataclass
class Receiver:
    """A tiny webhook endpoint: records each request and answers from a status script."""

    url: str = ""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_topic(self, topic: str) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [r for r in self.requests if r[0].get("x-shopify-topic") == topic]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    record = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with record.lock:
                record.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = record.statuses.pop(0) if record.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    record.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/shopify"
    yield record
    server.shutdown()
    server.server_close()
    thread.join(5)


def hmac_ok(body: bytes, header: str, secret: str) -> bool:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(digest, header.encode())


# ---- GraphQL through ShopifyAPI -------------------------------------------------------
@pytest.mark.usefixtures("shopify_api")
def test_set_quantities_with_shopifyapi_and_read_back(shop: ShopState) -> None:
    item, warehouse = shop.resolve_item("SKU-A"), shop.resolve_location("Warehouse")
    variables = {
        "key": "mv-1",
        "input": set_input(
            shop,
            [{"sku": "SKU-A", "location": "Warehouse", "quantity": 7, "changeFromQuantity": 10}],
        ),
    }

    result = run_graphql(SET_MUTATION, variables)

    payload = result["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    group = payload["inventoryAdjustmentGroup"]
    assert group["reason"] == "correction"
    assert group["referenceDocumentUri"] == "gid://omnistock/StockMovement/1"
    assert {(c["name"], c["delta"], c["quantityAfterChange"]) for c in group["changes"]} == {
        ("available", -3, 7),
        ("on_hand", -3, 7),
    }
    assert group["changes"][0]["item"]["id"] == item.gid
    assert result["extensions"]["cost"]["requestedQueryCost"] == 10

    level_id = f"gid://shopify/InventoryLevel/{warehouse.id}?inventory_item_id={item.id}"
    level = run_graphql(LEVEL_QUERY, {"id": level_id})["data"]["inventoryLevel"]
    quantities = {q["name"]: q["quantity"] for q in level["quantities"]}
    assert quantities["available"] == 7 and quantities["on_hand"] == 7
    assert level["item"] == {"id": item.gid, "sku": "SKU-A"}
    assert level["location"]["name"] == "Warehouse"
    assert item.id > 2**53  # big ids, like Shopify's

    found = run_graphql(
        """
        query($q: String!, $loc: ID!) { inventoryItems(first: 5, query: $q) {
          nodes { sku inventoryLevel(locationId: $loc) {
            quantities(names: ["available"]) { quantity } } } } }""",
        {"q": "sku:SKU-A", "loc": warehouse.gid},
    )["data"]["inventoryItems"]["nodes"]
    assert found == [{"sku": "SKU-A", "inventoryLevel": {"quantities": [{"quantity": 7}]}}]

    audit = shop.audit_log(source="graphql")
    assert len(audit) == 1
    assert audit[0]["idempotency_key"] == "mv-1" and audit[0]["api_version"] == VERSION
    counters = shop.counters_json()
    assert counters["mutations"] == 1 and counters["queries"] == 2


@pytest.mark.usefixtures("shopify_api")
def test_setting_on_hand_moves_available_and_keeps_the_invariant(shop: ShopState) -> None:
    variables = {
        "key": "oh-1",
        "input": set_input(
            shop,
            [{"sku": "SKU-A", "location": "Store", "quantity": 9, "changeFromQuantity": 5}],
            name="on_hand",
        ),
    }
    payload = run_graphql(SET_MUTATION, variables)["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    level = shop.read_levels(sku="SKU-A", location="Store")[0]["quantities"]
    assert level["on_hand"] == 9 and level["available"] == 8 and level["committed"] == 1


@pytest.mark.usefixtures("shopify_api")
def test_change_from_quantity_is_required_and_checked(shop: ShopState) -> None:
    missing = set_input(shop, [{"sku": "SKU-A", "location": "Warehouse", "quantity": 1}])
    errors = run_graphql(SET_MUTATION, {"key": "k-missing", "input": missing})["data"][
        "inventorySetQuantities"
    ]["userErrors"]
    assert [e["code"] for e in errors] == ["CHANGE_FROM_QUANTITY_REQUIRED"]

    stale = set_input(
        shop,
        [
            {"sku": "SKU-B", "location": "Warehouse", "quantity": 1, "changeFromQuantity": 3},
            {"sku": "SKU-A", "location": "Warehouse", "quantity": 1, "changeFromQuantity": 9},
        ],
    )
    payload = run_graphql(SET_MUTATION, {"key": "k-stale", "input": stale})["data"][
        "inventorySetQuantities"
    ]
    assert payload["inventoryAdjustmentGroup"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("CHANGE_FROM_QUANTITY_STALE", ["input", "quantities", "1", "changeFromQuantity"])
    ]
    assert shop.quantity("SKU-B", "Warehouse") == 3  # all or nothing

    opt_out = set_input(
        shop, [{"sku": "SKU-A", "location": "Warehouse", "quantity": 2, "changeFromQuantity": None}]
    )
    payload = run_graphql(SET_MUTATION, {"key": "k-null", "input": opt_out})["data"][
        "inventorySetQuantities"
    ]
    assert payload["userErrors"] == []
    assert shop.quantity("SKU-A", "Warehouse") == 2


def test_older_versions_use_compare_quantity(emulator: RunningEmulator, shop: ShopState) -> None:
    base = set_input(shop, [{"sku": "SKU-A", "location": "Warehouse", "quantity": 4}])
    required = post_graphql(emulator, SET_MUTATION_NO_KEY, {"input": base}, version="2025-10")
    assert [e["code"] for e in required.json()["data"]["inventorySetQuantities"]["userErrors"]] == [
        "COMPARE_QUANTITY_REQUIRED"
    ]

    stale = dict(base, quantities=[dict(base["quantities"][0], compareQuantity=1)])
    body = post_graphql(emulator, SET_MUTATION_NO_KEY, {"input": stale}, version="2025-10").json()
    assert (
        body["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == "COMPARE_QUANTITY_STALE"
    )

    ignored = dict(base, ignoreCompareQuantity=True)
    body = post_graphql(emulator, SET_MUTATION_NO_KEY, {"input": ignored}, version="2025-10").json()
    assert body["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shop.quantity("SKU-A", "Warehouse") == 4

    # compareQuantity no longer exists in the 2026-10 schema: a GraphQL error, no data.
    body = post_graphql(emulator, SET_MUTATION, {"key": "x", "input": stale}).json()
    assert "data" not in body and "compareQuantity" in body["errors"][0]["message"]


@pytest.mark.usefixtures("shopify_api")
def test_more_than_250_quantities_fail_the_whole_request(emulator: RunningEmulator) -> None:
    shop = emulator.shop
    location = shop.add_location("Warehouse")
    items = [shop.add_item(f"BULK-{n}", levels={"Warehouse": 0}) for n in range(251)]
    quantities = [
        {
            "inventoryItemId": item.gid,
            "locationId": location.gid,
            "quantity": 1,
            "changeFromQuantity": None,
        }
        for item in items
    ]
    base = {"name": "available", "reason": "correction"}

    too_many = run_graphql(
        SET_MUTATION, {"key": "bulk-251", "input": {**base, "quantities": quantities}}
    )
    assert "data" not in too_many
    assert too_many["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert shop.audit_log() == []
    assert shop.quantity("BULK-0", "Warehouse") == 0

    ok = run_graphql(
        SET_MUTATION, {"key": "bulk-250", "input": {**base, "quantities": quantities[:250]}}
    )
    assert ok["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shop.quantity("BULK-249", "Warehouse") == 1
    assert shop.quantity("BULK-250", "Warehouse") == 0


@pytest.mark.usefixtures("shopify_api")
def test_invalid_input_gives_user_errors_and_applies_nothing(shop: ShopState) -> None:
    item_a, warehouse = shop.resolve_item("SKU-A").gid, shop.resolve_location("Warehouse").gid
    entries = [
        {"inventoryItemId": item_a, "locationId": warehouse, "quantity": -1},
        {
            "inventoryItemId": shop.resolve_item("SKU-B").gid,
            "locationId": warehouse,
            "quantity": 1_000_000_001,
        },
        {"inventoryItemId": item_a, "locationId": warehouse, "quantity": 5},
        {
            "inventoryItemId": "gid://shopify/InventoryItem/1",
            "locationId": warehouse,
            "quantity": 5,
        },
        {"inventoryItemId": item_a, "locationId": "gid://shopify/Location/1", "quantity": 5},
    ]
    for entry in entries:
        entry["changeFromQuantity"] = None
    payload = run_graphql(
        SET_MUTATION,
        {"key": "bad", "input": {"name": "committed", "reason": "because", "quantities": entries}},
    )["data"]["inventorySetQuantities"]
    codes = {e["code"] for e in payload["userErrors"]}
    assert codes == {
        "INVALID_NAME",
        "INVALID_REASON",
        "INVALID_QUANTITY_NEGATIVE",
        "INVALID_QUANTITY_TOO_HIGH",
        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
        "INVALID_INVENTORY_ITEM",
        "INVALID_LOCATION",
    }
    assert payload["inventoryAdjustmentGroup"] is None
    assert shop.quantity("SKU-A", "Warehouse") == 10
    assert shop.audit_log() == []


@pytest.mark.usefixtures("shopify_api")
def test_idempotent_adjustments_replay_instead_of_applying_twice(shop: ShopState) -> None:
    change = {
        "inventoryItemId": shop.resolve_item("SKU-A").gid,
        "locationId": shop.resolve_location("Warehouse").gid,
        "delta": -2,
        "changeFromQuantity": 10,
    }
    variables: dict[str, Any] = {
        "key": "adj-1",
        "input": {"name": "available", "reason": "correction", "changes": [change]},
    }

    first = run_graphql(ADJUST_MUTATION, variables)["data"]["inventoryAdjustQuantities"]
    second = run_graphql(ADJUST_MUTATION, variables)["data"]["inventoryAdjustQuantities"]

    assert first["userErrors"] == [] and first == second
    assert shop.quantity("SKU-A", "Warehouse") == 8
    assert len(shop.audit_log()) == 1
    assert shop.counters_json()["idempotent_replays"] == 1

    other = {"key": "adj-1", "input": dict(variables["input"], changes=[dict(change, delta=-1)])}
    mismatch = run_graphql(ADJUST_MUTATION, other)["data"]["inventoryAdjustQuantities"]
    assert mismatch["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert shop.quantity("SKU-A", "Warehouse") == 8

    no_key = ADJUST_MUTATION.replace("@idempotent(key: $key)", "").replace(", $key: String!", "")
    missing = run_graphql(no_key, {"input": variables["input"]})
    assert missing["data"]["inventoryAdjustQuantities"] is None
    assert missing["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.usefixtures("shopify_api")
def test_unknown_fields_are_graphql_errors() -> None:
    body = run_graphql("{ shop { name myshopifyDomain } inventoryWidgets { id } }")
    assert "data" not in body
    assert "inventoryWidgets" in body["errors"][0]["message"]
    shop_name = run_graphql("{ shop { myshopifyDomain } }")["data"]["shop"]
    assert shop_name == {"myshopifyDomain": DEFAULT_SHOP_DOMAIN}


@pytest.mark.usefixtures("shopify_api")
def test_connections_paginate_with_cursors(emulator: RunningEmulator) -> None:
    shop = emulator.shop
    for number in range(3):
        shop.add_item(f"PAGE-{number}")
    query = """query($after: String) { inventoryItems(first: 2, after: $after) {
        edges { cursor node { sku } } pageInfo { hasNextPage endCursor } } }"""
    first = run_graphql(query)["data"]["inventoryItems"]
    assert [e["node"]["sku"] for e in first["edges"]] == ["PAGE-0", "PAGE-1"]
    assert first["pageInfo"]["hasNextPage"] is True
    second = run_graphql(query, {"after": first["pageInfo"]["endCursor"]})["data"]["inventoryItems"]
    assert [e["node"]["sku"] for e in second["edges"]] == ["PAGE-2"]
    assert second["pageInfo"]["hasNextPage"] is False


# ---- rate limits -----------------------------------------------------------------------
@pytest.mark.usefixtures("shopify_api")
def test_throttled_when_the_bucket_is_empty(shop: ShopState, clock: ManualClock) -> None:
    shop.configure_bucket(maximum_available=25, restore_rate=5)
    variables = {
        "key": "t",
        "input": set_input(
            shop,
            [{"sku": "SKU-A", "location": "Warehouse", "quantity": 1, "changeFromQuantity": None}],
        ),
    }

    results = [run_graphql(SET_MUTATION, dict(variables, key=f"t{n}")) for n in range(3)]

    assert "data" in results[0] and "data" in results[1]
    throttled = results[2]
    assert "data" not in throttled
    assert throttled["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    cost = throttled["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 10 and cost["actualQueryCost"] is None
    status = cost["throttleStatus"]
    assert status == {"maximumAvailable": 25.0, "currentlyAvailable": 5, "restoreRate": 5.0}
    assert isinstance(status["maximumAvailable"], float)
    assert isinstance(status["currentlyAvailable"], int)
    assert shop.counters_json()["throttled"] == 1

    clock.advance(1.0)  # 5 + 5 points: room for one more mutation
    assert "data" in run_graphql(SET_MUTATION, dict(variables, key="t-after"))


@pytest.mark.usefixtures("shopify_api")
def test_throttling_can_answer_429_with_retry_after(
    emulator: RunningEmulator, shop: ShopState
) -> None:
    emulator.state.configure(throttle_status_code=429)
    shop.configure_bucket(maximum_available=10, restore_rate=4, currently_available=0)
    with pytest.raises(urllib.error.HTTPError) as caught:
        run_graphql("{ shop { name } }")
    assert caught.value.code == 429
    assert float(caught.value.headers["Retry-After"]) == pytest.approx(0.3)


def test_queries_over_the_max_cost_are_refused(emulator: RunningEmulator, shop: ShopState) -> None:
    query = """{ inventoryItems(first: 250) { nodes { sku
        inventoryLevels(first: 50) { nodes { quantities(names: ["available"]) { quantity } } }
    } } }"""
    body = post_graphql(emulator, query).json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert body["extensions"]["cost"]["requestedQueryCost"] > 1000
    assert shop.bucket.status().currently_available == 2000  # nothing taken

    cheap = post_graphql(emulator, "{ inventoryItems(first: 10) { nodes { sku } } }").json()
    cost = cheap["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 12 and cost["actualQueryCost"] == 4  # 2 items came


# ---- auth ------------------------------------------------------------------------------
def test_wrong_token_is_401(emulator: RunningEmulator) -> None:
    response = post_graphql(emulator, "{ shop { name } }", token="shpat_wrong")
    assert response.status_code == 401
    assert response.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }
    assert post_graphql(emulator, "{ shop { name } }", version="latest").status_code == 404


def test_client_credentials_tokens_expire(emulator: RunningEmulator, clock: ManualClock) -> None:
    emulator.state.configure(token_lifetime_seconds=600)
    url = f"{emulator.base_url}/admin/oauth/access_token"
    form = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }

    by_form = httpx.post(url, data=form, timeout=10).json()
    by_json = httpx.post(url, json=form, timeout=10).json()

    assert by_form["access_token"].startswith("shpat_")
    assert by_form["scope"] == "read_inventory,write_inventory,read_orders"
    assert by_form["expires_in"] == 600
    assert by_json["access_token"] != by_form["access_token"]
    assert (
        post_graphql(emulator, "{ shop { name } }", token=by_form["access_token"]).status_code
        == 200
    )
    clock.advance(601)
    assert (
        post_graphql(emulator, "{ shop { name } }", token=by_form["access_token"]).status_code
        == 401
    )

    wrong = httpx.post(url, data=dict(form, client_secret="nope"), timeout=10)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_client"
    assert (
        httpx.post(url, data=dict(form, grant_type="password"), timeout=10).json()["error"]
        == "unsupported_grant_type"
    )


# ---- faults ----------------------------------------------------------------------------
@pytest.mark.usefixtures("shopify_api")
def test_injected_failures_and_delays(emulator: RunningEmulator) -> None:
    emulator.state.fail_next(2, 503)
    for _ in range(2):
        with pytest.raises(urllib.error.HTTPError) as caught:
            run_graphql("{ shop { name } }")
        assert caught.value.code == 503
    assert "data" in run_graphql("{ shop { name } }")

    emulator.state.fail_next(1, 429, retry_after=2.0)
    with pytest.raises(urllib.error.HTTPError) as caught:
        run_graphql("{ shop { name } }")
    assert caught.value.code == 429 and caught.value.headers["Retry-After"] == "2.0"

    emulator.state.delay_responses(300, count=1)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            emulator.graphql_url(),
            json={"query": "{ shop { name } }"},
            headers={"X-Shopify-Access-Token": emulator.access_token},
            timeout=0.1,
        )
    assert emulator.state.counters_json()["faults_served"] == 3


# ---- webhooks --------------------------------------------------------------------------
def test_orders_fire_signed_webhooks(
    emulator: RunningEmulator, shop: ShopState, receiver: Receiver
) -> None:
    for topic in ("orders/create", "orders/cancelled", "inventory_levels/update"):
        shop.subscribe_webhook(topic, receiver.url, secret="whsec-test")

    order = shop.create_order(
        "Store", [{"sku": "SKU-A", "quantity": 3, "price": "12.50"}], email="ada@example.com"
    )
    store_level = shop.read_levels(sku="SKU-A", location="Store")[0]["quantities"]
    assert store_level.items() >= {"available": 1, "committed": 4, "on_hand": 5}.items()
    shop.cancel_order(order["id"])
    assert emulator.state.webhooks.wait_idle(5)

    ((headers, raw),) = receiver.by_topic("orders/create")
    assert hmac_ok(raw, headers["x-shopify-hmac-sha256"], "whsec-test")
    assert headers["content-type"] == "application/json"
    assert headers["x-shopify-shop-domain"] == DEFAULT_SHOP_DOMAIN
    assert headers["x-shopify-api-version"] == VERSION
    for name in ("x-shopify-webhook-id", "x-shopify-event-id", "x-shopify-triggered-at"):
        assert headers[name]
    created = json.loads(raw)
    assert created["id"] == order["id"] and created["id"] > 2**53
    assert created["admin_graphql_api_id"] == f"gid://shopify/Order/{order['id']}"
    assert created["total_price"] == "37.50" and created["email"] == "ada@example.com"
    line = created["line_items"][0]
    assert (line["sku"], line["quantity"], line["fulfillable_quantity"]) == ("SKU-A", 3, 3)
    assert created["location_id"] == shop.resolve_location("Store").id

    ((_, cancelled_raw),) = receiver.by_topic("orders/cancelled")
    cancelled = json.loads(cancelled_raw)
    assert cancelled["cancelled_at"] is not None
    assert cancelled["line_items"][0]["fulfillable_quantity"] == 0

    updates = [json.loads(raw) for _, raw in receiver.by_topic("inventory_levels/update")]
    assert [u["available"] for u in updates] == [1, 4]
    assert updates[0]["inventory_item_id"] == shop.resolve_item("SKU-A").id
    assert shop.quantity("SKU-A", "Store", "committed") == 1


def test_duplicate_dropped_and_retried_deliveries(
    emulator: RunningEmulator, shop: ShopState, receiver: Receiver
) -> None:
    emulator.state.configure(webhook_retry_delay_seconds=0.01, webhook_retry_limit=2)
    shop.subscribe_webhook("inventory_levels/update", receiver.url)
    webhooks = emulator.state.webhooks

    webhooks.duplicate_next(1)
    shop.manual_edit("SKU-A", "Warehouse", 9)
    assert webhooks.wait_idle(5)
    first, second = receiver.requests
    assert first[0]["x-shopify-webhook-id"] == second[0]["x-shopify-webhook-id"]
    assert first[0]["x-shopify-event-id"] == second[0]["x-shopify-event-id"]
    assert first[1] == second[1]
    assert hmac_ok(first[1], first[0]["x-shopify-hmac-sha256"], DEFAULT_CLIENT_SECRET)

    webhooks.drop_next(1)
    shop.manual_edit("SKU-A", "Warehouse", 8)
    assert webhooks.wait_idle(5)
    assert len(receiver.requests) == 2

    receiver.statuses[:] = [500]
    shop.manual_edit("SKU-A", "Warehouse", 7)
    assert webhooks.wait_idle(5)
    failed, retried = receiver.requests[2:]
    assert failed[0]["x-shopify-webhook-id"] == retried[0]["x-shopify-webhook-id"]
    assert json.loads(retried[1])["available"] == 7
    outcomes = [(d["outcome"], d["attempt"]) for d in webhooks.deliveries()]
    assert outcomes[-2:] == [("failed", 1), ("delivered", 2)]
    assert ("dropped", 1) in outcomes


def test_manual_edit_over_the_control_api_fires_inventory_levels_update(
    emulator: RunningEmulator, receiver: Receiver
) -> None:
    base = f"{emulator.base_url}/_emulator"
    seeded = httpx.post(
        f"{base}/seed",
        json={"locations": ["Warehouse"], "items": [{"sku": "CTRL-1", "levels": {"Warehouse": 5}}]},
        timeout=10,
    ).json()
    httpx.post(
        f"{base}/webhooks/subscriptions",
        json={"topic": "inventory_levels/update", "address": receiver.url, "secret": "s3cret"},
        timeout=10,
    ).raise_for_status()

    edited = httpx.post(
        f"{base}/manual-edit",
        json={"sku": "CTRL-1", "location": "Warehouse", "delta": -2},
        timeout=10,
    ).json()
    assert edited["quantities"]["available"] == 3
    idle = httpx.post(f"{base}/webhooks/wait-idle?timeout=5", timeout=10).json()
    assert idle["idle"] is True

    ((headers, raw),) = receiver.requests
    assert headers["x-shopify-topic"] == "inventory_levels/update"
    assert hmac_ok(raw, headers["x-shopify-hmac-sha256"], "s3cret")
    payload = json.loads(raw)
    item_id = int(seeded["items"]["CTRL-1"].rsplit("/", 1)[1])
    assert payload["inventory_item_id"] == item_id and payload["available"] == 3
    assert payload["admin_graphql_api_id"].endswith(f"?inventory_item_id={item_id}")

    levels = httpx.get(f"{base}/levels", params={"sku": "CTRL-1"}, timeout=10).json()
    assert levels[0]["quantities"]["on_hand"] == 3
    audit = httpx.get(f"{base}/audit-log", timeout=10).json()
    assert [a["source"] for a in audit] == ["manual_edit"]
    counters = httpx.get(f"{base}/counters", timeout=10).json()
    assert counters["shops"][DEFAULT_SHOP_DOMAIN]["graphql_requests"] == 0
    httpx.post(f"{base}/faults", json={"status": 500, "count": 1}, timeout=10)
    assert post_graphql(emulator, "{ shop { name } }").status_code == 500
    assert (
        httpx.post(
            f"{base}/manual-edit",
            json={"sku": "NOPE", "location": "Warehouse", "quantity": 1},
            timeout=10,
        ).status_code
        == 404
    )


def test_second_shop_is_selected_by_its_token(emulator: RunningEmulator) -> None:
    other = emulator.state.add_shop("second-shop", access_token="shpat_second")
    other.add_item("ONLY-HERE")
    body = post_graphql(
        emulator,
        "{ shop { myshopifyDomain } inventoryItems(first: 5) { nodes { sku } } }",
        token="shpat_second",
    ).json()
    assert body["data"]["shop"]["myshopifyDomain"] == "second-shop.myshopify.com"
    assert body["data"]["inventoryItems"]["nodes"] == [{"sku": "ONLY-HERE"}]
    prefixed = httpx.post(
        f"{emulator.base_url}/shops/second-shop.myshopify.com/admin/api/{VERSION}/graphql.json",
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": emulator.access_token},
        timeout=10,
    )
    assert prefixed.status_code == 401  # the default shop's token is not valid there


def test_adjust_quantities_rules(emulator: RunningEmulator, shop: ShopState) -> None:
    item = shop.resolve_item("SKU-A").gid
    warehouse = shop.resolve_location("Warehouse").gid

    def adjust(
        name: str,
        change: dict[str, Any],
        key: str,
        version: str = VERSION,
        query: str = ADJUST_MUTATION,
    ) -> dict[str, Any]:
        variables: dict[str, Any] = {
            "key": key,
            "input": {
                "name": name,
                "reason": "damaged",
                "changes": [{"inventoryItemId": item, "locationId": warehouse, **change}],
            },
        }
        if "$key" not in query:
            del variables["key"]
        body: dict[str, Any] = post_graphql(emulator, query, variables, version=version).json()
        return body

    no_document = adjust("damaged", {"delta": 2, "changeFromQuantity": None}, "a1")
    assert (
        no_document["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"]
        == "INVALID_QUANTITY_DOCUMENT"
    )
    shopify_gid = adjust(
        "damaged",
        {"delta": 2, "changeFromQuantity": None, "ledgerDocumentUri": "gid://shopify/Order/1"},
        "a2",
    )
    assert (
        shopify_gid["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"]
        == "INVALID_LEDGER_DOCUMENT"
    )
    damaged = adjust(
        "damaged",
        {"delta": 2, "changeFromQuantity": 0, "ledgerDocumentUri": "omnistock://damage/7"},
        "a3",
    )
    assert damaged["data"]["inventoryAdjustQuantities"]["userErrors"] == []
    level = shop.read_levels(sku="SKU-A", location="Warehouse")[0]["quantities"]
    assert (level["damaged"], level["available"], level["on_hand"]) == (2, 10, 12)

    stale = adjust("available", {"delta": -1, "changeFromQuantity": 11}, "a4")
    assert (
        stale["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"]
        == "CHANGE_FROM_QUANTITY_STALE"
    )

    legacy_query = ADJUST_MUTATION.replace("@idempotent(key: $key)", "").replace(
        ", $key: String!", ""
    )
    legacy = adjust("available", {"delta": -1}, "", version="2025-10", query=legacy_query)
    assert legacy["data"]["inventoryAdjustQuantities"]["userErrors"] == []
    assert shop.quantity("SKU-A", "Warehouse") == 9
    unknown_directive = adjust("available", {"delta": -1}, "a5", version="2025-10")
    assert "idempotent" in unknown_directive["errors"][0]["message"]


def test_our_own_writes_echo_back_and_can_arrive_out_of_order(
    emulator: RunningEmulator, shop: ShopState, receiver: Receiver
) -> None:
    shop.subscribe_webhook("inventory_levels/update", receiver.url)
    emulator.state.webhooks.reverse_next(2)
    for key, quantity in (("r1", 6), ("r2", 5)):
        variables = {
            "key": key,
            "input": set_input(
                shop,
                [
                    {
                        "sku": "SKU-B",
                        "location": "Warehouse",
                        "quantity": quantity,
                        "changeFromQuantity": None,
                    }
                ],
            ),
        }
        assert post_graphql(emulator, SET_MUTATION, variables).status_code == 200
    assert emulator.state.webhooks.wait_idle(5)
    assert [json.loads(raw)["available"] for _, raw in receiver.requests] == [5, 6]


def test_control_api_orders_faults_and_bucket(emulator: RunningEmulator, shop: ShopState) -> None:
    base = f"{emulator.base_url}/_emulator"
    order = httpx.post(
        f"{base}/orders",
        json={"location": "Warehouse", "line_items": [{"sku": "SKU-B", "quantity": 2}]},
        timeout=10,
    )
    assert order.status_code == 201
    assert shop.quantity("SKU-B", "Warehouse", "committed") == 2
    cancel = httpx.post(f"{base}/orders/{order.json()['id']}/cancel", json={}, timeout=10)
    assert cancel.json()["financial_status"] == "refunded"
    assert shop.quantity("SKU-B", "Warehouse") == 3

    bucket = httpx.post(
        f"{base}/bucket", json={"maximum_available": 50, "restore_rate": 10}, timeout=10
    ).json()
    assert bucket["maximumAvailable"] == 50.0 and bucket["restoreRate"] == 10.0
    settings = httpx.post(f"{base}/settings", json={"throttle_status_code": 429}, timeout=10)
    assert settings.json()["throttle_status_code"] == 429
    assert httpx.post(f"{base}/settings", json={"nope": 1}, timeout=10).status_code == 400

    httpx.post(
        f"{base}/faults", json={"status": 503, "count": 1, "endpoint": "oauth"}, timeout=10
    ).raise_for_status()
    token_url = f"{emulator.base_url}/admin/oauth/access_token"
    form = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    assert httpx.post(token_url, data=form, timeout=10).status_code == 503
    assert httpx.post(token_url, data=form, timeout=10).status_code == 200
    assert httpx.post(f"{base}/reset", timeout=10).json()["reset"] is True
    assert emulator.state.settings.throttle_status_code == 200


def test_binds_to_loopback_only(emulator: RunningEmulator) -> None:
    from shopify_emulator import main

    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        RunningEmulator(host="0.0.0.0")
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        main(host="0.0.0.0", port=0, seed_demo=False)
    with pytest.raises(ValueError, match=r"127\.0\.0\.1/localhost"):
        emulator.shop.subscribe_webhook("orders/create", "https://example.com/hook")
