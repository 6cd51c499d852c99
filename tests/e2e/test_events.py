"""Events out, caught up with `GET /v1/events?after=` (issue "Events out", PRODUCT rule 10):
every stock, order and transfer change is an event written with it, in order, scoped to who
asks; a refused change writes none."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Keys
from tests.e2e.test_orders_pickup import idem, pickup_code, pickup_order, place, stock

Client = AsyncTestClient[Litestar]


async def events(client: Client, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    """Every event the caller may see, paging with `after=next_after` as a reader would."""
    seen: list[dict[str, Any]] = []
    after = 0
    while True:
        response = await client.get(
            "/v1/events", headers=headers, params={**query, "after": after, "limit": 7}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        seen += page["items"]
        if page["next_after"] == after:
            return seen
        after = page["next_after"]


def kinds(found: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in found]


async def test_a_pickup_journey_is_told_in_order(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 2)
    order = (await place(client, keys.storefront, pickup_order(quantity=2))).json()
    ready = await client.post(f"/v1/orders/{order['id']}/ready", headers={**keys.pos, **idem()})
    assert ready.status_code == 200, ready.text
    code = await pickup_code(client, keys, order["id"])
    handed = await client.post(
        f"/v1/orders/{order['id']}/pickup",
        headers={**keys.pos, **idem()},
        json={"pickup_code": code},
    )
    assert handed.status_code == 200, handed.text

    found = await events(client, keys.admin)
    assert [e["seq"] for e in found] == list(range(1, len(found) + 1)), "gapless, in order"
    assert len({e["id"] for e in found}) == len(found)
    assert kinds(found) == [
        "stock.changed",  # received 2
        "stock.back_in_stock",
        "order.created",  # reserved 2 in the order's own transaction
        "order.confirmed",  # paid at the counter: confirmed at once
        "stock.changed",
        "stock.out_of_stock",
        "order.ready_for_pickup",
        "order.picked_up",
        "stock.changed",  # the units left the store
    ]
    received, _, created, _, reserved, _, ready_event, picked, sold = found
    assert received["data"] == {
        "sku": "TEE-1",
        "location": "STORE-A",
        "on_hand": 2,
        "reserved": 0,
        "safety_stock": 0,
        "available": 2,
        "version": 1,
    }
    assert reserved["data"]["reserved"] == 2 and reserved["data"]["available"] == 0
    assert sold["data"]["on_hand"] == 0 and sold["data"]["reserved"] == 0
    assert created["data"] == {
        "order_id": order["id"],
        "number": order["number"],
        "channel": "web",
        "location": "STORE-A",
        "status": "confirmed",
    }
    assert ready_event["data"]["status"] == "ready_for_pickup"
    assert picked["data"]["status"] == "picked_up"
    assert created["occurred_at"].endswith("Z")


async def test_a_refused_change_writes_no_event(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 1)
    before = await events(client, keys.admin)
    refused = await place(client, keys.storefront, pickup_order(quantity=5))
    assert refused.status_code == 409, refused.text
    assert await events(client, keys.admin) == before


async def test_cancelling_puts_stock_back_in_stock(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 1)
    order = (await place(client, keys.storefront, pickup_order(quantity=1))).json()
    cancelled = await client.post(
        f"/v1/orders/{order['id']}/cancel", headers={**keys.storefront, **idem()}
    )
    assert cancelled.status_code == 200, cancelled.text
    found = await events(client, keys.admin, types="stock.out_of_stock,stock.back_in_stock")
    assert kinds(found) == ["stock.back_in_stock", "stock.out_of_stock", "stock.back_in_stock"]
    assert {e["data"]["location"] for e in found} == {"STORE-A"}
    assert kinds(await events(client, keys.admin, types="order.cancelled")) == ["order.cancelled"]


async def test_filters_by_location_and_sku(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 3)
    await stock(client, keys, "STORE-B", "TEE-1", 3)
    await stock(client, keys, "STORE-B", "MUG-1", 3)
    at_b = await events(client, keys.admin, location="STORE-B", types="stock.changed")
    assert [(e["data"]["location"], e["data"]["sku"]) for e in at_b] == [
        ("STORE-B", "TEE-1"),
        ("STORE-B", "MUG-1"),
    ]
    mugs = await events(client, keys.admin, sku="MUG-1")
    assert {e["data"]["sku"] for e in mugs} == {"MUG-1"} and mugs


async def test_each_caller_sees_its_share(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    await stock(client, keys, "STORE-B", "TEE-1", 5)
    web = (await place(client, keys.storefront, pickup_order("STORE-B", 1))).json()
    app_order = (
        await place(client, keys.mobile, pickup_order("STORE-B", 1, email="bo@example.com"))
    ).json()
    transfer = await client.post(
        "/v1/transfers",
        headers={**keys.admin, **idem()},
        json={
            "from_location": "STORE-B",
            "to_location": "STORE-A",
            "lines": [{"sku": "TEE-1", "quantity": 2}],
        },
    )
    assert transfer.status_code == 201, transfer.text

    everything = await events(client, keys.admin)
    assert await events(client, keys.readonly) == everything

    web_sees = await events(client, keys.storefront)
    assert {e["data"]["order_id"] for e in web_sees if e["type"].startswith("order.")} == {
        web["id"]
    }
    assert not [e for e in web_sees if e["type"].startswith("transfer.")]
    assert [e for e in web_sees if e["type"].startswith("stock.")] == [
        e for e in everything if e["type"].startswith("stock.")
    ]
    app_sees = await events(client, keys.mobile)
    assert {e["data"]["order_id"] for e in app_sees if e["type"].startswith("order.")} == {
        app_order["id"]
    }

    till_sees = await events(client, keys.pos)  # the POS key works at STORE-A
    assert till_sees and all(
        "STORE-A" in (e["data"].get("location"), e["data"].get("to_location")) for e in till_sees
    )
    assert "transfer.shipped" in kinds(till_sees), "a transfer to the store is the store's"
    assert not [e for e in till_sees if e["type"].startswith("order.")]


async def test_a_page_that_is_not_full_ends_at_the_head(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 1)
    await stock(client, keys, "STORE-A", "TEE-2", 1)
    page = (
        await client.get(
            "/v1/events", headers=keys.admin, params={"types": "order.created", "after": 0}
        )
    ).json()
    assert page == {"items": [], "next_after": 4}, "nothing missed below the head"
    again = (await client.get("/v1/events?after=4", headers=keys.admin)).json()
    assert again == {"items": [], "next_after": 4}


async def test_careless_queries_are_400(client: Client, keys: Keys) -> None:
    for query in (
        "types=stock.changed,order.teleported",
        "types=",
        "after=-1",
        "after=abc",
        "limit=0",
        "limit=1001",
        "location=" + "x" * 65,
        "since=1",
    ):
        response = await client.get(f"/v1/events?{query}", headers=keys.admin)
        assert response.status_code == 400, (query, response.text)
        assert response.json()["error"]["code"]
    unknown = await client.get("/v1/events?types=order.teleported", headers=keys.admin)
    assert "order.teleported" in unknown.json()["error"]["message"]
    assert (await client.get("/v1/events")).status_code == 401


async def test_transfers_are_told(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 4)
    created = await client.post(
        "/v1/transfers",
        headers={**keys.admin, **idem()},
        json={
            "from_location": "STORE-A",
            "to_location": "STORE-B",
            "lines": [{"sku": "TEE-1", "quantity": 3}],
        },
    )
    assert created.status_code == 201, created.text
    transfer_id = created.json()["id"]
    received = await client.post(
        f"/v1/transfers/{transfer_id}/receive",
        headers={**keys.admin, **idem()},
        json={"lines": [{"sku": "TEE-1", "quantity": 1}]},
    )
    assert received.status_code == 200, received.text
    cancelled = await client.post(
        f"/v1/transfers/{transfer_id}/cancel", headers={**keys.admin, **idem()}
    )
    assert cancelled.status_code == 200, cancelled.text
    told = await events(
        client, keys.admin, types="transfer.shipped,transfer.received,transfer.cancelled"
    )
    assert kinds(told) == ["transfer.shipped", "transfer.received", "transfer.cancelled"]
    assert told[1]["data"]["lines"] == [{"sku": "TEE-1", "quantity": 3, "received": 1}]
    assert {e["data"]["transfer_id"] for e in told} == {transfer_id}
    assert uuid.UUID(told[0]["id"])
