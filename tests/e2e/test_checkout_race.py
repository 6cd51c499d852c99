"""Rule 1: two channels racing for the last units — exactly as many orders win as there are
units, every loser gets a clear 409 naming what is short and where else it is."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Keys
from tests.e2e.test_orders_pickup import level, pickup_order, stock

Client = AsyncTestClient[Litestar]
BUYERS = 200
UNITS = 10


@pytest.mark.postgres
async def test_200_concurrent_orders_for_10_units_make_exactly_10_orders(
    client: Client, keys: Keys, on_postgres: bool
) -> None:
    if not on_postgres:
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL (CI does)")
    await stock(client, keys, "STORE-A", "TEE-1", UNITS)
    await stock(client, keys, "STORE-B", "TEE-1", 7)

    async def buy(i: int) -> tuple[int, dict[str, object]]:
        headers = {
            **(keys.storefront if i % 2 else keys.mobile),
            "Idempotency-Key": str(uuid.uuid4()),
        }
        response = await client.post(
            "/v1/orders",
            headers=headers,
            json=pickup_order(quantity=1, email=f"buyer{i}@example.com"),
        )
        return response.status_code, response.json()

    results = await asyncio.gather(*(buy(i) for i in range(BUYERS)))
    statuses = [status for status, _ in results]
    assert statuses.count(201) == UNITS
    assert statuses.count(409) == BUYERS - UNITS
    for status, body in results:
        if status == 409:
            error = body["error"]
            assert error["code"] == "insufficient_stock"  # type: ignore[index]
            [line] = error["details"]["lines"]  # type: ignore[index]
            assert line["sku"] == "TEE-1" and line["requested"] == 1
            assert line["available"] == 0
            assert [a["location"] for a in line["alternatives"]] == ["STORE-B"]
    after = await level(client, keys, "TEE-1", "STORE-A")
    assert (after["on_hand"], after["reserved"], after["available"]) == (UNITS, UNITS, 0)
    orders = (await client.get("/v1/orders?limit=500", headers=keys.admin)).json()["items"]
    assert len(orders) == UNITS
