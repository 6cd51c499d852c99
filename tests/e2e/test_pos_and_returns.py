"""The counter always wins; returns anywhere; one customer across channels."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.orders.context import OrderContext
from app.platform.database import Database
from tests.conftest import Keys
from tests.e2e.test_orders_pickup import level, pay, pickup_code, pickup_order, place, stock
from tests.support.context import context_for

Client = AsyncTestClient[Litestar]
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC).isoformat()


def sale(
    txn: str, quantity: int, location: str = "STORE-A", sku: str = "TEE-1", email: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_txn_id": txn,
        "location": location,
        "occurred_at": NOW,
        "lines": [{"sku": sku, "quantity": quantity, "unit_price_minor": 1000}],
    }
    if email:
        body["customer"] = {"email": email}
    return body


async def test_a_sale_is_idempotent_by_the_tills_transaction_id(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    first = await client.post("/v1/pos/sales", headers=keys.pos, json=sale("till1-0001", 2))
    again = await client.post("/v1/pos/sales", headers=keys.pos, json=sale("till1-0001", 2))
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert (await level(client, keys, "TEE-1", "STORE-A"))["on_hand"] == 3
    clash = await client.post("/v1/pos/sales", headers=keys.pos, json=sale("till1-0001", 3))
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "idempotency_conflict"
    elsewhere = await client.post(
        "/v1/pos/sales", headers=keys.pos, json=sale("till1-0002", 1, location="STORE-B")
    )
    assert elsewhere.status_code == 403


async def test_the_counter_wins_and_flags_the_pickup_it_broke(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 2)
    order = (await place(client, keys.storefront, pickup_order(quantity=2))).json()
    assert order["status"] == "confirmed"  # no Stripe configured: paid at the counter

    sold = await client.post("/v1/pos/sales", headers=keys.pos, json=sale("late-1", 1))
    assert sold.status_code == 201
    [at_risk] = sold.json()["at_risk_orders"]
    assert at_risk["order_id"] == order["id"] and at_risk["resolved"] is False
    after = await level(client, keys, "TEE-1", "STORE-A")
    assert (after["on_hand"], after["reserved"], after["available"]) == (1, 2, 0)
    flagged = (await client.get(f"/v1/orders/{order['id']}", headers=keys.admin)).json()
    assert flagged["at_risk"] is True and flagged["status"] == "confirmed"


async def test_a_ship_order_that_lost_its_units_is_sourced_again(
    client: Client, keys: Keys, orders_ctx: OrderContext
) -> None:
    await stock(client, keys, "WH-1", "TEE-1", 1)
    await stock(client, keys, "STORE-A", "TEE-1", 1)
    await client.post(
        "/v1/locations",
        headers=keys.admin,
        json={
            "code": "WH-2",
            "name": "North warehouse",
            "kind": "warehouse",
            "latitude": 53.4,
            "longitude": -2.2,
            "ship_enabled": True,
        },
    )
    await stock(client, keys, "WH-2", "TEE-1", 3)
    order = (
        await place(
            client,
            keys.admin,
            {
                "channel": "admin",
                "customer": {"email": "bo@example.com"},
                "lines": [{"sku": "TEE-1", "quantity": 1}],
                "fulfilment": {
                    "type": "ship",
                    "address": {
                        "line1": "1 High St",
                        "city": "London",
                        "postal_code": "N1",
                        "country": "GB",
                        "latitude": 51.53,
                        "longitude": -0.27,
                    },
                },
            },
        )
    ).json()
    assert order["lines"][0]["allocations"] == [{"location": "WH-1", "quantity": 1}]

    # A stock count finds WH-1 empty; the warehouse "till" is the admin here.
    await client.post(
        "/v1/stock/counts",
        headers=keys.admin,
        json={"location": "WH-1", "counts": [{"sku": "TEE-1", "counted": 0}]},
    )
    # The count does not re-source by itself; the periodic sweep does.
    from app.pos import shortages

    app_ctx = orders_ctx
    [(location_id, sku_id)] = await shortages.short_levels(app_ctx)
    [outcome] = await shortages.resolve_shortage(app_ctx, location_id, sku_id)
    assert outcome.resolved and "WH-2" in outcome.detail
    moved = (await client.get(f"/v1/orders/{order['id']}", headers=keys.admin)).json()
    assert moved["lines"][0]["allocations"] == [{"location": "WH-2", "quantity": 1}]
    assert moved["at_risk"] is False
    assert (await level(client, keys, "TEE-1", "WH-1"))["reserved"] == 0
    assert (await level(client, keys, "TEE-1", "WH-2"))["reserved"] == 1


async def test_offline_batch_replays_in_order_and_reports_each(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 1)
    response = await client.post(
        "/v1/pos/sales/batch",
        headers=keys.pos,
        json={
            "sales": [
                sale("off-1", 1),
                sale("off-2", 1),
                sale("off-3", 1, sku="NOPE"),
                sale("off-1", 1),
            ]
        },
    )
    assert response.status_code == 200
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == [201, 201, 404, 200]
    assert (await level(client, keys, "TEE-1", "STORE-A"))["on_hand"] == -1


async def test_ship_orders_take_the_fewest_locations_warehouses_first(
    client: Client, keys: Keys
) -> None:
    await client.post(
        "/v1/locations",
        headers=keys.admin,
        json={
            "code": "STORE-S",
            "name": "Ships",
            "kind": "store",
            "latitude": 51.5,
            "longitude": -0.1,
            "ship_enabled": True,
        },
    )
    await stock(client, keys, "STORE-S", "TEE-1", 5)
    await stock(client, keys, "STORE-S", "TEE-2", 5)
    await stock(client, keys, "WH-1", "TEE-1", 5)
    both = await place(
        client,
        keys.admin,
        {
            "channel": "admin",
            "customer": {"email": "cy@example.com"},
            "lines": [{"sku": "TEE-1", "quantity": 2}, {"sku": "TEE-2", "quantity": 1}],
            "fulfilment": {
                "type": "ship",
                "address": {"line1": "x", "city": "y", "postal_code": "z", "country": "GB"},
            },
        },
    )
    assert both.status_code == 201, both.text
    # One location can fill both lines, so no split, even though WH-1 is a warehouse.
    assert {
        (line["sku"], a["location"]) for line in both.json()["lines"] for a in line["allocations"]
    } == {("TEE-1", "STORE-S"), ("TEE-2", "STORE-S")}
    single = await place(
        client,
        keys.admin,
        {
            "channel": "admin",
            "customer": {"email": "cy@example.com"},
            "lines": [{"sku": "TEE-1", "quantity": 1}],
            "fulfilment": {
                "type": "ship",
                "address": {"line1": "x", "city": "y", "postal_code": "z", "country": "GB"},
            },
        },
    )
    assert single.json()["lines"][0]["allocations"] == [{"location": "WH-1", "quantity": 1}]


async def test_return_anywhere_restocks_there_and_refunds(
    shop: Client, keys: Keys, localstripe_url: str
) -> None:
    await stock(shop, keys, "STORE-B", "TEE-1", 3)
    await shop.post(
        "/v1/api-keys",
        headers=keys.admin,
        json={"name": "till-b", "role": "pos", "location": "STORE-B"},
    )
    order = (await place(shop, keys.storefront, pickup_order("STORE-B", quantity=2))).json()
    await pay(shop, localstripe_url, order)
    await shop.post(f"/v1/orders/{order['id']}/ready", headers=keys.admin)
    code = await pickup_code(shop, keys, order["id"])
    till_b = (
        await shop.post(
            "/v1/api-keys",
            headers=keys.admin,
            json={"name": "till-b2", "role": "pos", "location": "STORE-B"},
        )
    ).json()["key"]
    handed = await shop.post(
        f"/v1/orders/{order['id']}/pickup",
        headers={"Authorization": f"Bearer {till_b}"},
        json={"pickup_code": code},
    )
    assert handed.status_code == 200, handed.text

    returned = await shop.post(
        f"/v1/orders/{order['id']}/returns",
        headers={**keys.pos, "Idempotency-Key": str(uuid.uuid4())},
        json={"location": "STORE-A", "lines": [{"sku": "TEE-1", "quantity": 1}]},
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["lines"][0]["returned_quantity"] == 1
    assert (await level(shop, keys, "TEE-1", "STORE-A"))["on_hand"] == 1
    assert (await level(shop, keys, "TEE-1", "STORE-B"))["on_hand"] == 1
    assert returned.json()["payment"]["status"] == "refunded"
    too_many = await shop.post(
        f"/v1/orders/{order['id']}/returns",
        headers={**keys.pos, "Idempotency-Key": str(uuid.uuid4())},
        json={"location": "STORE-A", "lines": [{"sku": "TEE-1", "quantity": 2}]},
    )
    assert too_many.status_code == 422
    kinds = [
        n["kind"]
        for n in (
            await shop.get(f"/v1/notifications?order_id={order['id']}", headers=keys.admin)
        ).json()
    ]
    assert kinds == ["confirmed", "ready_for_pickup", "refunded"]


async def test_one_customer_and_one_timeline_across_channels(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    web = (await place(client, keys.storefront, pickup_order(email="Dee@Example.com"))).json()
    app_order = (
        await place(client, keys.mobile, pickup_order(quantity=1, email="dee@example.com"))
    ).json()
    await client.post(
        "/v1/pos/sales", headers=keys.pos, json=sale("till-9", 1, email="dee@example.com")
    )
    assert web["customer_id"] == app_order["customer_id"]
    [customer] = (
        await client.get("/v1/customers?email=dee@example.com", headers=keys.admin)
    ).json()
    assert customer["id"] == web["customer_id"]
    timeline = (
        await client.get(f"/v1/customers/{customer['id']}/timeline", headers=keys.pos)
    ).json()
    assert [(e["channel"], e["event"]) for e in timeline] == [
        ("web", "placed"),
        ("web", "confirmed"),
        ("mobile", "placed"),
        ("mobile", "confirmed"),
        ("pos", "pos_sale"),
    ]
    assert timeline[-1]["location"] == "STORE-A"
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    assert (
        await client.get(f"/v1/customers/{customer['id']}", headers=keys.storefront)
    ).status_code == 403


async def test_notifications_are_for_admins_and_sent_by_the_outbox(
    client: Client, keys: Keys, db: Database
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    order = (await place(client, keys.storefront, pickup_order())).json()
    assert (await client.get("/v1/notifications", headers=keys.pos)).status_code == 403
    [note] = (
        await client.get(f"/v1/notifications?order_id={order['id']}", headers=keys.admin)
    ).json()
    assert note["kind"] == "confirmed" and note["sent_at"] is None

    from app.orders.notifications import send_pending

    sent: list[tuple[str, str]] = []

    class Recorder:
        def send(self, to: str, subject: str, body: str) -> None:
            sent.append((to, subject))

    assert await send_pending(context_for(db, sender=Recorder())) == 1
    assert sent == [("ada@example.com", f"Order {order['number']} confirmed")]
    assert await send_pending(context_for(db, sender=Recorder())) == 0
    [note] = (
        await client.get(f"/v1/notifications?order_id={order['id']}", headers=keys.admin)
    ).json()
    assert note["sent_at"] is not None


async def test_unpaid_orders_expire_and_release_their_stock(
    shop: Client, keys: Keys, localstripe_url: str, paid_orders_ctx: OrderContext
) -> None:
    from datetime import timedelta

    from app.orders.closing import expire_due_orders
    from tests.support.stripe import Customer

    await stock(shop, keys, "STORE-A", "TEE-1", 2)
    order = (await place(shop, keys.storefront, pickup_order())).json()
    ctx = paid_orders_ctx
    later = datetime.now(UTC) + ctx.payment_timeout + timedelta(seconds=1)
    assert await expire_due_orders(ctx, now=datetime.now(UTC)) == 0
    import asyncio

    results = await asyncio.gather(
        expire_due_orders(ctx, now=later), expire_due_orders(ctx, now=later)
    )
    assert sorted(results) == [0, 1]
    expired = (await shop.get(f"/v1/orders/{order['id']}", headers=keys.admin)).json()
    assert expired["status"] == "expired"
    assert (await level(shop, keys, "TEE-1", "STORE-A"))["reserved"] == 0
    assert Customer(localstripe_url).status(order["payment"]["payment_intent_id"]) == "canceled"
    kinds = [
        n["kind"]
        for n in (
            await shop.get(f"/v1/notifications?order_id={order['id']}", headers=keys.admin)
        ).json()
    ]
    assert kinds == ["expired"]


async def test_a_counter_return_of_an_online_order_restocks_and_refunds(
    client: Client, keys: Keys
) -> None:
    await stock(client, keys, "WH-1", "TEE-1", 3)
    order = (
        await client.post(
            "/v1/orders",
            headers={**keys.admin, "Idempotency-Key": "s1"},
            json={
                "channel": "admin",
                "customer": {"email": "hal@example.com"},
                "lines": [{"sku": "TEE-1", "quantity": 2}],
                "fulfilment": {
                    "type": "ship",
                    "address": {"line1": "x", "city": "y", "postal_code": "z", "country": "GB"},
                },
            },
        )
    ).json()
    assert order["lines"][0]["allocations"] == [{"location": "WH-1", "quantity": 2}]
    shipped = await client.post(f"/v1/orders/{order['id']}/ship", headers=keys.admin)
    assert shipped.status_code == 200, shipped.text
    body = {
        "client_txn_id": "ret-1",
        "location": "STORE-A",
        "original_order_id": order["id"],
        "lines": [{"sku": "TEE-1", "quantity": 1, "unit_price_minor": 1000}],
    }
    first = await client.post("/v1/pos/returns", headers=keys.pos, json=body)
    again = await client.post("/v1/pos/returns", headers=keys.pos, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["refund_minor"] == 1000
    lines = (await client.get(f"/v1/orders/{order['id']}", headers=keys.admin)).json()["lines"]
    assert lines[0]["returned_quantity"] == 1
    assert (await level(client, keys, "TEE-1", "STORE-A"))["on_hand"] == 1
    assert (await level(client, keys, "TEE-1", "WH-1"))["on_hand"] == 1
    too_many = await client.post(
        "/v1/pos/returns",
        headers=keys.pos,
        json={
            **body,
            "client_txn_id": "ret-2",
            "lines": [{"sku": "TEE-1", "quantity": 2, "unit_price_minor": 1000}],
        },
    )
    assert too_many.status_code == 422
