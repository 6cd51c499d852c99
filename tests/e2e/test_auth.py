"""API keys: 401 without a known key, 403 outside the key's role or location."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Keys

Client = AsyncTestClient[Litestar]


def receipt(location: str = "STORE-A") -> dict[str, object]:
    return {"location": location, "sku": "TEE-1", "kind": "receipt", "quantity": 1}


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def test_missing_key_is_401_in_the_error_shape(client: Client, world: object) -> None:
    response = await client.get("/v1/skus")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_unknown_key_is_401(client: Client, world: object) -> None:
    response = await client.get("/v1/skus", headers={"Authorization": "Bearer osk_nope"})
    assert response.status_code == 401


async def test_readonly_may_read_but_not_write(client: Client, keys: Keys) -> None:
    assert (await client.get("/v1/skus", headers=keys.readonly)).status_code == 200
    response = await client.post(
        "/v1/stock/movements", json=receipt(), headers={**keys.readonly, **idem()}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def test_storefront_cannot_create_locations(client: Client, keys: Keys) -> None:
    response = await client.post(
        "/v1/locations",
        headers=keys.storefront,
        json={"code": "X", "name": "X", "kind": "store", "latitude": 0, "longitude": 0},
    )
    assert response.status_code == 403


async def test_pos_key_moves_stock_at_its_own_store_only(client: Client, keys: Keys) -> None:
    own = await client.post(
        "/v1/stock/movements", json=receipt("STORE-A"), headers={**keys.pos, **idem()}
    )
    assert own.status_code == 201
    assert own.json()["movement"]["channel"] == "pos"
    other = await client.post(
        "/v1/stock/movements", json=receipt("STORE-B"), headers={**keys.pos, **idem()}
    )
    assert other.status_code == 403
    assert other.json()["error"]["details"]["key_location"] == "STORE-A"


async def test_admin_issues_keys_that_work_and_are_stored_hashed(
    client: Client, keys: Keys, db: object
) -> None:
    response = await client.post(
        "/v1/api-keys",
        headers=keys.admin,
        json={"name": "till-2", "role": "pos", "location": "STORE-B"},
    )
    assert response.status_code == 201
    issued = response.json()
    assert issued["location"] == "STORE-B"
    secret = issued["key"]
    headers = {"Authorization": f"Bearer {secret}"}
    ok = await client.post(
        "/v1/stock/movements", json=receipt("STORE-B"), headers={**headers, **idem()}
    )
    assert ok.status_code == 201
    assert ok.json()["movement"]["actor"] == "pos:till-2"

    from sqlalchemy import text

    async with db.engine.connect() as connection:  # type: ignore[attr-defined]
        stored = [row[0] for row in await connection.execute(text("SELECT key_hash FROM api_keys"))]
    assert secret not in stored
    assert all(len(h) == 64 for h in stored)


async def test_pos_key_needs_a_location(client: Client, keys: Keys) -> None:
    response = await client.post(
        "/v1/api-keys", headers=keys.admin, json={"name": "till", "role": "pos"}
    )
    assert response.status_code == 422


async def test_non_admin_cannot_issue_keys(client: Client, keys: Keys) -> None:
    response = await client.post(
        "/v1/api-keys", headers=keys.pos, json={"name": "x", "role": "admin"}
    )
    assert response.status_code == 403


async def test_health_and_metrics_need_no_key(client: Client, world: object) -> None:
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/health/ready")).json()["checks"]["database"] == "ok"
    assert (await client.get("/schema/openapi.json")).status_code == 200
