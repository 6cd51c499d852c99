"""Finding orders at the desk: by number on every order route, by name, email or phone, at
risk or due soon, within the caller's own stores or channel; the pickup queue by due time."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.access.keys import create_api_key
from app.orders import views
from app.orders.context import OrderContext
from app.platform.access import Principal, Role
from app.platform.database import Database
from tests.conftest import Keys
from tests.e2e.test_orders_pickup import idem, pickup_code, place, stock
from tests.support.context import context_for

Client = AsyncTestClient[Litestar]


def pickup(
    location: str = "STORE-A",
    *,
    email: str = "ada@example.com",
    name: str | None = "Ada Lovelace",
    phone: str | None = None,
    sku: str = "TEE-1",
    quantity: int = 1,
) -> dict[str, Any]:
    customer: dict[str, Any] = {"email": email, "name": name, "phone": phone}
    return {
        "customer": {k: v for k, v in customer.items() if v is not None},
        "lines": [{"sku": sku, "quantity": quantity}],
        "fulfilment": {"type": "pickup", "location": location},
    }


async def placed(client: Client, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await place(client, headers, body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def found(client: Client, headers: dict[str, str], **params: Any) -> list[str]:
    response = await client.get("/v1/orders", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [o["id"] for o in response.json()["items"]]


async def latest_code(client: Client, keys: Keys, order_id: str) -> str:
    notes = (await client.get(f"/v1/notifications?order_id={order_id}", headers=keys.admin)).json()
    newest = max(notes, key=lambda n: n["created_at"])
    return str(newest["body"].rsplit(": ", 1)[1].strip())


# By number ------------------------------------------------------------------------------------
async def test_every_order_route_takes_the_order_number(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 10)
    order = await placed(client, keys.storefront, pickup(quantity=2))
    number = order["number"]

    for ref in (number, number.lower()):
        got = await client.get(f"/v1/orders/{ref}", headers=keys.admin)
        assert got.status_code == 200, got.text
        assert got.json()["id"] == order["id"]
    assert (await client.get(f"/v1/orders/{number}", headers=keys.storefront)).status_code == 200

    ready = await client.post(f"/v1/orders/{number}/ready", headers=keys.pos)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready_for_pickup"
    resent = await client.post(f"/v1/orders/{number}/resend-code", headers=keys.pos)
    assert resent.status_code == 200, resent.text
    unlocked = await client.post(f"/v1/orders/{number}/unlock", headers=keys.admin)
    assert unlocked.status_code == 200, unlocked.text
    code = await latest_code(client, keys, order["id"])
    collected = await client.post(
        f"/v1/orders/{number}/pickup", json={"pickup_code": code}, headers=keys.pos
    )
    assert collected.status_code == 200, collected.text
    assert collected.json()["status"] == "picked_up"
    returned = await client.post(
        f"/v1/orders/{number}/returns",
        json={"location": "STORE-A", "lines": [{"sku": "TEE-1", "quantity": 1}]},
        headers={**keys.pos, **idem()},
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["lines"][0]["returned_quantity"] == 1

    other = await placed(client, keys.storefront, pickup(email="bo@example.com"))
    cancelled = await client.post(f"/v1/orders/{other['number']}/cancel", headers=keys.storefront)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"

    await stock(client, keys, "WH-1", "MUG-1", 1)
    shipping = await placed(
        client,
        keys.admin,
        {
            "customer": {"email": "cy@example.com"},
            "lines": [{"sku": "MUG-1", "quantity": 1}],
            "fulfilment": {
                "type": "ship",
                "address": {
                    "line1": "1 High St",
                    "city": "London",
                    "postal_code": "W1",
                    "country": "GB",
                },
            },
            "channel": "admin",
        },
    )
    shipped = await client.post(f"/v1/orders/{shipping['number']}/ship", headers=keys.admin)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped"


async def test_a_number_never_reveals_an_order_the_caller_may_not_see(
    client: Client, keys: Keys
) -> None:
    await stock(client, keys, "STORE-B", "TEE-1", 5)
    order = await placed(client, keys.storefront, pickup("STORE-B"))

    for headers in (keys.mobile, keys.pos):
        response = await client.get(f"/v1/orders/{order['number']}", headers=headers)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
        assert order["id"] not in response.text
    cancel = await client.post(f"/v1/orders/{order['number']}/cancel", headers=keys.mobile)
    assert cancel.status_code == 404, cancel.text
    assert order["id"] not in cancel.text


@pytest.mark.parametrize(
    ("ref", "status"),
    [
        ("W-ZZZZZZZZ", 404),  # well formed, nobody's number
        (str(uuid.uuid4()), 404),
        ("ABCDEFGHJKMNPQRSTUVWXYZ23456789ABCDE", 404),  # longer than any number
        ("W%20N7N56JGT", 400),
        ("W_N7N56JGT", 400),
        ("-W", 400),
        ("W" * 37, 400),
        ("%00", 400),
    ],
)
async def test_a_ref_that_names_no_order_is_a_clear_refusal(
    client: Client, keys: Keys, ref: str, status: int
) -> None:
    for method, path in (("GET", f"/v1/orders/{ref}"), ("POST", f"/v1/orders/{ref}/cancel")):
        response = await client.request(method, path, headers=keys.admin)
        assert response.status_code == status, (method, path, response.text)
        assert set(response.json()["error"]) == {"code", "message", "details"}


# Search ---------------------------------------------------------------------------------------
async def test_q_finds_by_number_name_email_or_phone(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 10)
    ada = await placed(client, keys.storefront, pickup(phone="+44 20 7946 0001"))
    grace = await placed(
        client,
        keys.mobile,
        pickup(email="grace@navy.example", name="Grace Hopper", phone="020-7946-0002"),
    )

    assert await found(client, keys.admin, q=ada["number"]) == [ada["id"]]
    assert await found(client, keys.admin, q=grace["number"].lower()) == [grace["id"]]
    assert await found(client, keys.admin, q="LOVELACE") == [ada["id"]]
    assert await found(client, keys.admin, q="hop") == [grace["id"]]
    assert await found(client, keys.admin, q="navy.exa") == [grace["id"]]
    assert await found(client, keys.admin, q="020 7946 0002") == [grace["id"]]
    assert await found(client, keys.admin, q="+44 20 7946") == [ada["id"]]
    assert await found(client, keys.admin, q="7946") == [ada["id"], grace["id"]]
    assert await found(client, keys.admin, q="%") == []  # a wildcard is a character here
    assert await found(client, keys.admin, q="W-ZZZZZZZZ") == []

    too_long = await client.get("/v1/orders", params={"q": "a" * 101}, headers=keys.admin)
    assert too_long.status_code == 400, too_long.text


async def test_search_stays_within_the_callers_stores_and_channel(
    client: Client, keys: Keys, db: Database
) -> None:
    for location in ("STORE-A", "STORE-B", "STORE-M"):
        await stock(client, keys, location, "TEE-1", 5)
    web_a = await placed(client, keys.storefront, pickup("STORE-A"))
    web_b = await placed(client, keys.storefront, pickup("STORE-B", email="ada.b@example.com"))
    app_a = await placed(client, keys.mobile, pickup("STORE-A", email="ada.app@example.com"))
    app_m = await placed(client, keys.mobile, pickup("STORE-M", email="ada.m@example.com"))

    assert await found(client, keys.pos, q="ada") == [web_a["id"], app_a["id"]]
    assert await found(client, keys.pos, q=web_b["number"]) == []
    assert await found(client, keys.storefront, q="ada") == [web_a["id"], web_b["id"]]
    assert await found(client, keys.mobile, q="ada") == [app_a["id"], app_m["id"]]
    assert await found(client, keys.admin, q="ada") == [
        web_a["id"],
        web_b["id"],
        app_a["id"],
        app_m["id"],
    ]
    refused = await client.get(
        "/v1/orders", params={"q": "ada", "location": "STORE-B"}, headers=keys.pos
    )
    assert refused.status_code == 403, refused.text

    # a person on the staff of two stores finds the orders of both, and of no other
    staff = Principal("s", "sam", Role.ASSOCIATE, stores=frozenset({"STORE-A", "STORE-B"}))
    ctx: OrderContext = context_for(db)
    listed = await views.list_orders(
        ctx,
        staff,
        status=None,
        location=None,
        customer_email=None,
        channel=None,
        after=None,
        limit=50,
    )
    assert {str(v.id) for v in listed} == {web_a["id"], web_b["id"], app_a["id"]}
    storeless = Principal("s0", "new", Role.ASSOCIATE)  # on the staff of no store yet
    assert (
        await views.list_orders(
            ctx,
            storeless,
            status=None,
            location=None,
            customer_email=None,
            channel=None,
            after=None,
            limit=50,
        )
        == []
    )


async def test_at_risk_lists_the_orders_the_counter_broke(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 2)
    await stock(client, keys, "STORE-B", "TEE-1", 2)
    broken = await placed(client, keys.storefront, pickup("STORE-A", quantity=2))
    kept = await placed(client, keys.storefront, pickup("STORE-B", email="bo@example.com"))
    sale = await client.post(
        "/v1/pos/sales",
        json={
            "client_txn_id": "till-1:0001",
            "location": "STORE-A",
            "occurred_at": "2026-11-30T10:00:00Z",
            "lines": [{"sku": "TEE-1", "quantity": 2, "unit_price_minor": 1000}],
        },
        headers=keys.pos,
    )
    assert sale.status_code == 201, sale.text

    assert await found(client, keys.admin, at_risk="true") == [broken["id"]]
    assert await found(client, keys.admin, at_risk="false") == [kept["id"]]
    assert await found(client, keys.pos, at_risk="true") == [broken["id"]]


async def test_due_before_names_on_lines_and_the_queue_by_due_time(
    client: Client, keys: Keys
) -> None:
    scarf = {"sku": "SCARF-1", "name": "Wool scarf", "price_minor": 2500, "currency": "GBP"}
    assert (await client.post("/v1/skus", json=scarf, headers=keys.admin)).status_code == 201
    await stock(client, keys, "STORE-A", "SCARF-1", 5)

    async def lead(minutes: int) -> None:
        response = await client.patch(
            "/v1/locations/STORE-A", json={"pickup_lead_minutes": minutes}, headers=keys.admin
        )
        assert response.status_code == 200, response.text

    await lead(240)
    late = await placed(client, keys.storefront, pickup(sku="SCARF-1"))
    await lead(30)
    soon = await placed(
        client, keys.mobile, pickup(email="grace@example.com", name="Grace Hopper", sku="SCARF-1")
    )
    late_due = datetime.fromisoformat((await one(client, keys, late))["due_at"])
    soon_due = datetime.fromisoformat((await one(client, keys, soon))["due_at"])
    assert soon_due < late_due

    between = (soon_due + timedelta(minutes=1)).isoformat()
    assert await found(client, keys.admin, due_before=between) == [soon["id"]]
    assert await found(client, keys.admin, due_before=late_due.isoformat()) == [soon["id"]]
    naive = await client.get(
        "/v1/orders", params={"due_before": "2026-12-01T10:00:00"}, headers=keys.admin
    )
    assert naive.status_code == 400, naive.text

    queue = await client.get("/v1/locations/STORE-A/pickups", headers=keys.pos)
    assert queue.status_code == 200, queue.text
    assert [o["id"] for o in queue.json()] == [soon["id"], late["id"]]  # due first, not placed
    first = queue.json()[0]
    assert first["customer_name"] == "Grace Hopper"
    assert [(line["sku"], line["name"]) for line in first["lines"]] == [("SCARF-1", "Wool scarf")]


async def one(client: Client, keys: Keys, order: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"/v1/orders/{order['id']}", headers=keys.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_till_finds_its_own_stores_orders_by_number(
    client: Client, keys: Keys, db: Database
) -> None:
    for location in ("STORE-A", "STORE-B"):
        await stock(client, keys, location, "TEE-1", 5)
    a = await placed(client, keys.storefront, pickup("STORE-A"))
    b = await placed(client, keys.storefront, pickup("STORE-B", email="b@example.com"))
    issued = await create_api_key(
        context_for(db), None, name="till-b", role=Role.POS, location="STORE-B"
    )
    till_b = {"Authorization": f"Bearer {issued.secret}"}

    assert await found(client, till_b) == [b["id"]]
    assert await found(client, keys.pos) == [a["id"]]
    assert (await client.get(f"/v1/orders/{a['number']}", headers=till_b)).status_code == 404
    ready = await client.post(f"/v1/orders/{b['number']}/ready", headers=till_b)
    assert ready.status_code == 200, ready.text
    assert len(await pickup_code(client, keys, b["id"])) == 6
    refused = await client.post(f"/v1/orders/{a['number']}/ready", headers=till_b)
    assert refused.status_code == 403, refused.text
