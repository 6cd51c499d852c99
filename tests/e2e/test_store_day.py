"""A store's whole day over HTTP, done by the people who work there (issue "The store's day"):
a manager and an associate sign in; a transfer arrives in part; a shelf is counted while the
till sells; an order is found by the customer's name; a damaged line is rejected and the rest
handed over; a lost code is resent; a damaged item comes back. Then the ledger audit: every
level is the sum of its movements and every reserved unit is held by an open order."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.config import Settings
from tests.conftest import Keys, World
from tests.e2e.test_orders_pickup import level, place, stock
from tests.fault import audit

Client = AsyncTestClient[Litestar]

PASSWORD = "a long shift password"


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def sign_in(client: Client, keys: Keys, email: str, role: str) -> dict[str, str]:
    created = await client.post(
        "/v1/staff",
        headers={**keys.admin, **idem()},
        json={
            "email": email,
            "name": email.split("@", maxsplit=1)[0].title(),
            "role": role,
            "locations": ["STORE-A"],
            "password": PASSWORD,
        },
    )
    assert created.status_code == 201, created.text
    session = await client.post("/v1/sessions", json={"email": email, "password": PASSWORD})
    assert session.status_code == 201, session.text
    return {"Authorization": f"Bearer {session.json()['token']}"}


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def latest_code(client: Client, keys: Keys, order_id: str) -> str:
    notes = (await client.get(f"/v1/notifications?order_id={order_id}", headers=keys.admin)).json()
    codes = [
        match.group(1)
        for note in notes
        if (match := re.search(r"\b(\d{6})\b", note["body"])) is not None
    ]
    assert codes, notes
    return codes[-1]


async def test_a_stores_whole_day(
    client: Client, keys: Keys, world: World, settings: Settings
) -> None:
    manager = await sign_in(client, keys, "maya@example.com", "manager")
    associate = await sign_in(client, keys, "sam@example.com", "associate")
    await stock(client, keys, "WH-1", "TEE-1", 20)
    await stock(client, keys, "STORE-A", "TEE-2", 10)
    await stock(client, keys, "STORE-A", "MUG-1", 6)

    # A transfer from the warehouse arrives in part, then the rest.
    transfer = await ok(
        await client.post(
            "/v1/transfers",
            headers={**keys.admin, **idem()},
            json={
                "from_location": "WH-1",
                "to_location": "STORE-A",
                "lines": [{"sku": "TEE-1", "quantity": 8}],
            },
        ),
        201,
    )
    part = await ok(
        await client.post(
            f"/v1/transfers/{transfer['id']}/receive",
            headers={**associate, **idem()},
            json={"lines": [{"sku": "TEE-1", "quantity": 5}]},
        )
    )
    assert part["status"] == "partially_received"
    rest = await ok(
        await client.post(
            f"/v1/transfers/{transfer['id']}/receive",
            headers={**associate, **idem()},
            json={"lines": [{"sku": "TEE-1", "quantity": 3}]},
        )
    )
    assert rest["status"] == "received"
    assert (await level(client, keys, "TEE-1", "STORE-A"))["on_hand"] == 8

    # A shelf is counted while the till sells one: no false variance, one real one.
    count = await ok(
        await client.post(
            "/v1/counts",
            headers={**associate, **idem()},
            json={"location": "STORE-A", "skus": ["TEE-2", "MUG-1"]},
        ),
        201,
    )
    sale = await client.post(
        "/v1/pos/sales",
        headers=associate,
        json={
            "client_txn_id": "till-1:day-1",
            "location": "STORE-A",
            "occurred_at": "2026-11-30T10:15:00Z",
            "lines": [{"sku": "TEE-2", "quantity": 1, "unit_price_minor": 1000}],
        },
    )
    assert sale.status_code == 201, sale.text
    await ok(
        await client.put(
            f"/v1/counts/{count['id']}/lines",
            headers={**associate, **idem()},
            json={"lines": [{"sku": "TEE-2", "counted": 9}, {"sku": "MUG-1", "counted": 5}]},
        )
    )
    counted = await ok(await client.get(f"/v1/counts/{count['id']}", headers=associate))
    variance = {line["sku"]: line["variance"] for line in counted["lines"]}
    assert variance == {"TEE-2": 0, "MUG-1": -1}
    refused = await client.post(
        f"/v1/counts/{count['id']}/approve", headers={**associate, **idem()}
    )
    assert refused.status_code == 403, refused.text
    await ok(await client.post(f"/v1/counts/{count['id']}/approve", headers={**manager, **idem()}))
    assert (await level(client, keys, "MUG-1", "STORE-A"))["on_hand"] == 5

    # A web order for pickup; the desk finds it by the customer's name.
    order = await ok(
        await place(
            client,
            keys.storefront,
            {
                "customer": {"email": "grace@example.com", "name": "Grace Hopper"},
                "lines": [{"sku": "TEE-1", "quantity": 2}, {"sku": "MUG-1", "quantity": 1}],
                "fulfilment": {"type": "pickup", "location": "STORE-A"},
            },
        ),
        201,
    )
    found = await ok(await client.get("/v1/orders", params={"q": "hopper"}, headers=associate))
    assert [o["number"] for o in found["items"]] == [order["number"]]
    by_number = await ok(await client.get(f"/v1/orders/{order['number']}", headers=associate))
    assert by_number["id"] == order["id"]
    assert {line["name"] for line in by_number["lines"]} == {"TEE-1", "MUG-1"}

    # The mug is damaged: rejected; the tees are ready.
    ready = await ok(
        await client.post(
            f"/v1/orders/{order['number']}/ready",
            headers={**associate, **idem()},
            json={"rejected": [{"sku": "MUG-1", "quantity": 1, "reason": "damaged"}]},
        )
    )
    assert ready["status"] == "ready_for_pickup"

    # The customer lost the code: resent, the old one is dead.
    first_code = await latest_code(client, keys, order["id"])
    await ok(
        await client.post(
            f"/v1/orders/{order['number']}/resend-code", headers={**associate, **idem()}
        )
    )
    new_code = await latest_code(client, keys, order["id"])
    assert new_code != first_code
    stale = await client.post(
        f"/v1/orders/{order['id']}/pickup",
        headers={**associate, **idem()},
        json={"pickup_code": first_code},
    )
    assert stale.status_code == 422, stale.text
    handed = await ok(
        await client.post(
            f"/v1/orders/{order['id']}/pickup",
            headers={**associate, **idem()},
            json={"pickup_code": new_code},
        )
    )
    assert handed["status"] == "picked_up"

    # One tee comes back damaged: refunded, not back on sale.
    before = await level(client, keys, "TEE-1", "STORE-A")
    returned = await client.post(
        f"/v1/orders/{order['id']}/returns",
        headers={**associate, **idem()},
        json={
            "location": "STORE-A",
            "lines": [{"sku": "TEE-1", "quantity": 1, "disposition": "damaged"}],
        },
    )
    assert returned.status_code in (200, 201), returned.text
    after = await level(client, keys, "TEE-1", "STORE-A")
    assert after["available"] == before["available"]

    # Who did what: the people, by email.
    movements = await ok(
        await client.get("/v1/stock/movements", params={"location": "STORE-A"}, headers=manager)
    )
    actors = {m["actor"] for m in movements["items"]}
    assert {"maya@example.com", "sam@example.com"} <= actors, actors

    books = await audit.read_books(settings.database_url)
    assert audit.levels_not_matching_their_movements(books) == []
    assert audit.reserved_not_held_by_open_orders(books) == []
