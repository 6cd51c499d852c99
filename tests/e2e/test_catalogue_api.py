"""Locations and the SKU catalogue."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Keys

Client = AsyncTestClient[Litestar]


async def test_create_and_read_a_location(client: Client, keys: Keys) -> None:
    body = {
        "code": "STORE-Z",
        "name": "Zed",
        "kind": "store",
        "latitude": 51.4,
        "longitude": -0.2,
        "pickup_enabled": True,
        "ship_enabled": False,
        "default_safety_stock": 1,
    }
    created = await client.post("/v1/locations", headers=keys.admin, json=body)
    assert created.status_code == 201
    fetched = (await client.get("/v1/locations/STORE-Z", headers=keys.mobile)).json()
    assert {k: fetched[k] for k in body} == body
    codes = [loc["code"] for loc in (await client.get("/v1/locations", headers=keys.mobile)).json()]
    assert "STORE-Z" in codes


async def test_duplicate_location_is_409_conflict(client: Client, keys: Keys) -> None:
    body = {"code": "STORE-A", "name": "again", "kind": "store", "latitude": 0, "longitude": 0}
    response = await client.post("/v1/locations", headers=keys.admin, json=body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


async def test_bad_location_is_400_validation_error(client: Client, keys: Keys) -> None:
    body = {"code": "X", "name": "x", "kind": "shed", "latitude": 100, "longitude": 0}
    response = await client.post("/v1/locations", headers=keys.admin, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"


async def test_sku_create_read_and_page(client: Client, keys: Keys) -> None:
    created = await client.post(
        "/v1/skus",
        headers=keys.admin,
        json={
            "sku": "HAT-1",
            "name": "Hat",
            "price_minor": 2500,
            "currency": "gbp",
            "barcode": "5012345678900",
        },
    )
    assert created.status_code == 201
    assert created.json()["currency"] == "GBP"
    assert (await client.get("/v1/skus/HAT-1", headers=keys.storefront)).json()[
        "price_minor"
    ] == 2500
    page = (await client.get("/v1/skus?limit=2", headers=keys.storefront)).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (
        await client.get(f"/v1/skus?limit=10&cursor={page['next_cursor']}", headers=keys.storefront)
    ).json()
    assert len(page["items"]) + len(rest["items"]) == 4
    assert rest["next_cursor"] is None


async def test_bulk_upsert_inserts_and_updates_by_code(client: Client, keys: Keys) -> None:
    items = [
        {"sku": f"BULK-{i}", "name": f"Bulk {i}", "price_minor": 100 + i, "currency": "GBP"}
        for i in range(1000)
    ]
    response = await client.put("/v1/skus", headers=keys.admin, json={"items": items})
    assert response.status_code == 200
    assert response.json() == {"upserted": 1000}
    items[0]["price_minor"] = 999
    await client.put("/v1/skus", headers=keys.admin, json={"items": items[:1]})
    assert (await client.get("/v1/skus/BULK-0", headers=keys.admin)).json()["price_minor"] == 999


async def test_bulk_upsert_of_more_than_1000_is_400(client: Client, keys: Keys) -> None:
    items = [
        {"sku": f"B-{i}", "name": "b", "price_minor": 1, "currency": "GBP"} for i in range(1001)
    ]
    response = await client.put("/v1/skus", headers=keys.admin, json={"items": items})
    assert response.status_code == 400


async def test_invalid_cursor_is_400(client: Client, keys: Keys) -> None:
    response = await client.get("/v1/skus?cursor=%%%", headers=keys.admin)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


async def test_malformed_json_is_400_not_500(client: Client, keys: Keys) -> None:
    response = await client.post(
        "/v1/skus", headers={**keys.admin, "Content-Type": "application/json"}, content=b"{not json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


async def test_unknown_route_is_404_in_the_error_shape(client: Client, keys: Keys) -> None:
    response = await client.get("/v1/nothing-here", headers=keys.admin)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_unstorable_text_is_400_and_stores_nothing(client: Client, keys: Keys) -> None:
    response = await client.post(
        "/v1/skus",
        headers=keys.admin,
        json={"sku": "NUL-1", "name": "bad\u0000name", "price_minor": 1, "currency": "GBP"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert (await client.get("/v1/skus/NUL-1", headers=keys.admin)).status_code == 404
