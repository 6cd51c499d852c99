"""Data stays inside its boundaries (issue: a POS key refused another store's pickup queue got
it through GET /v1/orders?location=OTHER and read any customer; storefront and app keys read
the whole ledger; the Stripe client_secret was returned to any later reader of the order)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Keys
from tests.e2e.test_orders_pickup import pickup_order, place, stock

Client = AsyncTestClient[Litestar]


async def test_a_till_sees_only_its_own_stores_orders(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    await stock(client, keys, "STORE-B", "TEE-1", 5)
    here = (await place(client, keys.storefront, pickup_order("STORE-A"))).json()
    there = (
        await place(client, keys.storefront, pickup_order("STORE-B", email="bo@example.com"))
    ).json()

    other_store = await client.get(
        "/v1/orders", params={"location": "STORE-B", "status": "confirmed"}, headers=keys.pos
    )
    assert other_store.status_code == 403
    listed = (await client.get("/v1/orders", headers=keys.pos)).json()["items"]
    assert [o["id"] for o in listed] == [here["id"]]
    assert (await client.get(f"/v1/orders/{there['id']}", headers=keys.pos)).status_code == 404
    assert (await client.get(f"/v1/orders/{here['id']}", headers=keys.pos)).status_code == 200


async def test_a_till_reads_only_its_own_stores_customers(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    await stock(client, keys, "STORE-B", "TEE-1", 5)
    here = (await place(client, keys.storefront, pickup_order("STORE-A"))).json()
    there = (
        await place(client, keys.storefront, pickup_order("STORE-B", email="bo@example.com"))
    ).json()

    for path in (f"/v1/customers/{there['customer_id']}", "/v1/customers?email=bo@example.com"):
        assert (await client.get(path, headers=keys.pos)).status_code == 404, path
    timeline = await client.get(f"/v1/customers/{there['customer_id']}/timeline", headers=keys.pos)
    assert timeline.status_code == 404
    own = await client.get(f"/v1/customers/{here['customer_id']}", headers=keys.pos)
    assert own.status_code == 200 and own.json()["email"] == "ada@example.com"
    assert (
        await client.get(f"/v1/customers/{there['customer_id']}", headers=keys.admin)
    ).status_code == 200


async def test_the_ledger_is_for_staff_and_operations(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    for channel_key in (keys.storefront, keys.mobile):
        response = await client.get("/v1/stock/movements", headers=channel_key)
        assert response.status_code == 403
    assert (await client.get("/v1/stock/movements", headers=keys.readonly)).status_code == 200
    own = await client.get("/v1/stock/movements", params={"location": "STORE-A"}, headers=keys.pos)
    assert own.status_code == 200 and own.json()["items"]
    other = await client.get(
        "/v1/stock/movements", params={"location": "STORE-B"}, headers=keys.pos
    )
    assert other.status_code == 403


async def test_the_payment_secret_goes_to_the_placing_channel_only(
    shop: Client, keys: Keys
) -> None:
    await stock(shop, keys, "STORE-A", "TEE-1", 5)
    placed = (await place(shop, keys.storefront, pickup_order())).json()
    assert placed["payment"]["client_secret"]
    path = f"/v1/orders/{placed['id']}"
    again = (await shop.get(path, headers=keys.storefront)).json()
    assert again["payment"]["client_secret"] == placed["payment"]["client_secret"]
    for reader in (keys.admin, keys.readonly, keys.pos):
        seen = (await shop.get(path, headers=reader)).json()
        assert seen["payment"]["client_secret"] is None
