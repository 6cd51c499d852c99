"""The stock endpoints as a client sees them: levels, movements, counts, transfers."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Keys

Client = AsyncTestClient[Litestar]


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def move(client: Client, headers: dict[str, str], **body: Any) -> Any:
    return await client.post("/v1/stock/movements", json=body, headers={**headers, **idem()})


async def test_receipt_creates_the_level_and_one_movement(client: Client, keys: Keys) -> None:
    response = await move(
        client,
        keys.admin,
        location="STORE-A",
        sku="TEE-1",
        kind="receipt",
        quantity=10,
        reference="PO-1",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["level"] == {
        "sku": "TEE-1",
        "location": "STORE-A",
        "on_hand": 10,
        "reserved": 0,
        "safety_stock": 0,
        "available": 10,
        "incoming": 0,
    }
    assert body["movement"]["on_hand_delta"] == 10
    assert body["movement"]["channel"] == "admin"
    assert body["movement"]["reference"] == "PO-1"

    level = (await client.get("/v1/stock/TEE-1/STORE-A", headers=keys.readonly)).json()
    assert level["on_hand"] == 10

    ledger = (await client.get("/v1/stock/movements?sku=TEE-1", headers=keys.readonly)).json()
    assert [m["kind"] for m in ledger["items"]] == ["receipt"]


async def test_removing_more_than_on_hand_is_409_and_changes_nothing(
    client: Client, keys: Keys
) -> None:
    await move(client, keys.admin, location="STORE-A", sku="TEE-1", kind="receipt", quantity=2)
    response = await move(
        client, keys.admin, location="STORE-A", sku="TEE-1", kind="damage", quantity=3
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"
    level = (await client.get("/v1/stock/TEE-1/STORE-A", headers=keys.admin)).json()
    assert level["on_hand"] == 2
    ledger = (await client.get("/v1/stock/movements", headers=keys.admin)).json()
    assert len(ledger["items"]) == 1


async def test_count_records_the_difference(client: Client, keys: Keys) -> None:
    await move(client, keys.admin, location="STORE-A", sku="TEE-1", kind="receipt", quantity=10)
    response = await client.post(
        "/v1/stock/counts",
        headers=keys.pos,
        json={
            "location": "STORE-A",
            "counts": [{"sku": "TEE-1", "counted": 7}, {"sku": "TEE-2", "counted": 3}],
        },
    )
    assert response.status_code == 201
    results = response.json()["results"]
    assert [
        (r["movement"]["sku"], r["movement"]["on_hand_delta"], r["level"]["on_hand"])
        for r in results
    ] == [("TEE-1", -3, 7), ("TEE-2", 3, 3)]


async def test_safety_stock_is_withheld_from_available(client: Client, keys: Keys) -> None:
    await move(client, keys.admin, location="STORE-A", sku="TEE-1", kind="receipt", quantity=5)
    response = await client.put(
        "/v1/stock/TEE-1/STORE-A/safety-stock", headers=keys.admin, json={"safety_stock": 2}
    )
    assert response.status_code == 200
    assert response.json()["available"] == 3
    stock = (await client.get("/v1/stock/TEE-1", headers=keys.storefront)).json()
    assert stock["total_available"] == 3
    assert stock["locations"][0]["safety_stock"] == 2


async def test_new_levels_start_with_the_location_default_safety_stock(
    client: Client, keys: Keys
) -> None:
    await client.post(
        "/v1/locations",
        headers=keys.admin,
        json={
            "code": "STORE-S",
            "name": "Safe",
            "kind": "store",
            "latitude": 51.5,
            "longitude": -0.1,
            "default_safety_stock": 2,
        },
    )
    body = (
        await move(client, keys.admin, location="STORE-S", sku="MUG-1", kind="receipt", quantity=5)
    ).json()
    assert body["level"]["safety_stock"] == 2
    assert body["level"]["available"] == 3
    ledger = (await client.get("/v1/stock/movements?location=STORE-S", headers=keys.admin)).json()[
        "items"
    ]
    assert [(m["kind"], m["safety_stock_delta"]) for m in ledger] == [
        ("safety_stock", 2),
        ("receipt", 0),
    ]


async def test_transfer_moves_stock_through_incoming(client: Client, keys: Keys) -> None:
    await move(client, keys.admin, location="WH-1", sku="TEE-1", kind="receipt", quantity=20)
    created = await client.post(
        "/v1/transfers",
        headers={**keys.admin, **idem()},
        json={
            "from_location": "WH-1",
            "to_location": "STORE-A",
            "lines": [{"sku": "TEE-1", "quantity": 8}],
        },
    )
    assert created.status_code == 201
    transfer = created.json()
    assert transfer["status"] == "in_transit"
    store = (await client.get("/v1/stock/TEE-1/STORE-A", headers=keys.admin)).json()
    assert (store["on_hand"], store["incoming"], store["available"]) == (0, 8, 0)
    warehouse = (await client.get("/v1/stock/TEE-1/WH-1", headers=keys.admin)).json()
    assert warehouse["on_hand"] == 12

    received = await client.post(f"/v1/transfers/{transfer['id']}/receive", headers=keys.pos)
    assert received.status_code == 200
    assert received.json()["status"] == "received"
    store = (await client.get("/v1/stock/TEE-1/STORE-A", headers=keys.admin)).json()
    assert (store["on_hand"], store["incoming"], store["available"]) == (8, 0, 8)

    again = await client.post(f"/v1/transfers/{transfer['id']}/receive", headers=keys.admin)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"


async def test_transfer_of_more_than_is_there_is_409(client: Client, keys: Keys) -> None:
    await move(client, keys.admin, location="WH-1", sku="TEE-1", kind="receipt", quantity=1)
    response = await client.post(
        "/v1/transfers",
        headers={**keys.admin, **idem()},
        json={
            "from_location": "WH-1",
            "to_location": "STORE-A",
            "lines": [{"sku": "TEE-1", "quantity": 2}],
        },
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"
    store = (await client.get("/v1/stock/TEE-1/STORE-A", headers=keys.admin)).json()
    assert store["incoming"] == 0


async def test_pos_key_cannot_receive_a_transfer_for_another_store(
    client: Client, keys: Keys
) -> None:
    await move(client, keys.admin, location="WH-1", sku="TEE-1", kind="receipt", quantity=5)
    transfer = (
        await client.post(
            "/v1/transfers",
            headers={**keys.admin, **idem()},
            json={
                "from_location": "WH-1",
                "to_location": "STORE-B",
                "lines": [{"sku": "TEE-1", "quantity": 1}],
            },
        )
    ).json()
    response = await client.post(f"/v1/transfers/{transfer['id']}/receive", headers=keys.pos)
    assert response.status_code == 403


async def test_movement_ledger_pages_oldest_first(client: Client, keys: Keys) -> None:
    for _ in range(5):
        await move(client, keys.admin, location="STORE-A", sku="TEE-1", kind="receipt", quantity=1)
    first = (await client.get("/v1/stock/movements?limit=3", headers=keys.admin)).json()
    assert len(first["items"]) == 3
    second = (
        await client.get(
            f"/v1/stock/movements?limit=3&cursor={first['next_cursor']}", headers=keys.admin
        )
    ).json()
    ids = [m["id"] for m in first["items"] + second["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert second["next_cursor"] is None


async def test_unknown_sku_or_location_is_404(client: Client, keys: Keys) -> None:
    response = await move(
        client, keys.admin, location="STORE-A", sku="NOPE", kind="receipt", quantity=1
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert (await client.get("/v1/stock/TEE-1/NOWHERE", headers=keys.admin)).status_code == 404
