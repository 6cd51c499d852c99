"""`GET /v1/availability`: which stores near me can fill this, nearest first."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Keys

Client = AsyncTestClient[Litestar]
PICCADILLY = {"latitude": 51.5101, "longitude": -0.1340}


async def receive(client: Client, keys: Keys, location: str, sku: str, quantity: int) -> None:
    response = await client.post(
        "/v1/stock/movements",
        headers={**keys.admin, "Idempotency-Key": str(uuid.uuid4())},
        json={"location": location, "sku": sku, "kind": "receipt", "quantity": quantity},
    )
    assert response.status_code == 201


async def test_nearest_store_first_within_the_radius(client: Client, keys: Keys) -> None:
    for location in ("STORE-A", "STORE-B", "STORE-M", "WH-1"):
        await receive(client, keys, location, "TEE-1", 5)
    response = await client.get(
        "/v1/availability",
        headers=keys.mobile,
        params={"sku": "TEE-1", **PICCADILLY, "radius_km": 25},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["sku"] == "TEE-1"
    # Manchester is out of range and the warehouse is not a store.
    assert [r["location"] for r in body["results"]] == ["STORE-A", "STORE-B"]
    first = body["results"][0]
    assert first["available"] == 5 and first["pickup_enabled"] is True
    assert 0.5 < first["distance_km"] < 1.5


async def test_a_store_must_fill_the_quantity_after_safety_stock(
    client: Client, keys: Keys
) -> None:
    await receive(client, keys, "STORE-A", "TEE-1", 3)
    await receive(client, keys, "STORE-B", "TEE-1", 5)
    await client.put(
        "/v1/stock/TEE-1/STORE-B/safety-stock", headers=keys.admin, json={"safety_stock": 2}
    )
    body = (
        await client.get(
            "/v1/availability",
            headers=keys.mobile,
            params={"sku": "TEE-1", **PICCADILLY, "quantity": 3},
        )
    ).json()
    assert [(r["location"], r["available"]) for r in body["results"]] == [
        ("STORE-A", 3),
        ("STORE-B", 3),
    ]
    body = (
        await client.get(
            "/v1/availability",
            headers=keys.mobile,
            params={"sku": "TEE-1", **PICCADILLY, "quantity": 4},
        )
    ).json()
    assert body["results"] == []


async def test_several_skus_list_only_stores_that_have_all_of_them(
    client: Client, keys: Keys
) -> None:
    await receive(client, keys, "STORE-A", "TEE-1", 2)
    await receive(client, keys, "STORE-B", "TEE-1", 2)
    await receive(client, keys, "STORE-B", "MUG-1", 2)
    body = (
        await client.get(
            "/v1/availability",
            headers=keys.storefront,
            params={"sku": ["TEE-1", "MUG-1"], **PICCADILLY},
        )
    ).json()
    assert body["sku"] == ["TEE-1", "MUG-1"]
    assert [r["location"] for r in body["results"]] == ["STORE-B"]


async def test_bad_coordinates_are_400_and_unknown_sku_404(client: Client, keys: Keys) -> None:
    bad = await client.get(
        "/v1/availability",
        headers=keys.mobile,
        params={"sku": "TEE-1", "latitude": 91, "longitude": 0},
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"
    missing = await client.get(
        "/v1/availability", headers=keys.mobile, params={"sku": "NOPE", **PICCADILLY}
    )
    assert missing.status_code == 404
