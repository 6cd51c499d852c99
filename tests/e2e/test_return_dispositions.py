"""Returned units come back on sale, or, when damaged, are taken back and written off: never
on sale again, every unit told by the ledger, the refund the same either way."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.orders.tables import Order, PaymentAction
from app.platform.database import Database
from tests.conftest import Keys
from tests.e2e.test_orders_pickup import idem, level, pay, pickup_code, pickup_order, place, stock
from tests.fault.audit import (
    levels_not_matching_their_movements,
    read_books,
    reserved_not_held_by_open_orders,
)

Client = AsyncTestClient[Litestar]


async def collected(client: Client, keys: Keys, quantity: int) -> dict[str, Any]:
    """A web order of `quantity` TEE-1 collected at STORE-A (paid at the counter)."""
    await stock(client, keys, "STORE-A", "TEE-1", quantity)
    order: dict[str, Any] = (
        await place(client, keys.storefront, pickup_order("STORE-A", quantity=quantity))
    ).json()
    assert (
        await client.post(f"/v1/orders/{order['id']}/ready", headers=keys.pos)
    ).status_code == 200
    code = await pickup_code(client, keys, order["id"])
    handed = await client.post(
        f"/v1/orders/{order['id']}/pickup", json={"pickup_code": code}, headers=keys.pos
    )
    assert handed.status_code == 200, handed.text
    return order


async def movements_of(client: Client, keys: Keys, reference: str) -> list[tuple[Any, ...]]:
    response = await client.get(
        "/v1/stock/movements", params={"location": "STORE-A", "limit": 500}, headers=keys.admin
    )
    assert response.status_code == 200, response.text
    return [
        (m["kind"], m["sku"], m["on_hand_delta"], m["reason"], m["actor"])
        for m in response.json()["items"]
        if m["reference"] == reference
    ]


async def books_balance(database_url: str) -> None:
    books = await read_books(database_url)
    assert levels_not_matching_their_movements(books) == []
    assert reserved_not_held_by_open_orders(books) == []


async def test_damaged_units_are_taken_back_written_off_and_refunded(
    client: Client, keys: Keys, database_url: str
) -> None:
    order = await collected(client, keys, 3)
    before = await level(client, keys, "TEE-1", "STORE-A")
    assert (before["on_hand"], before["available"]) == (0, 0)

    returned = await client.post(
        f"/v1/orders/{order['number']}/returns",
        json={
            "location": "STORE-A",
            "lines": [
                {"sku": "TEE-1", "quantity": 1},
                {"sku": "TEE-1", "quantity": 2, "disposition": "damaged"},
            ],
        },
        headers={**keys.pos, **idem()},
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["lines"][0]["returned_quantity"] == 3

    after = await level(client, keys, "TEE-1", "STORE-A")
    assert (after["on_hand"], after["available"]) == (1, 1)  # only the sound unit is on sale
    assert await movements_of(client, keys, f"order:{order['id']}") == [
        ("reservation", "TEE-1", 0, None, "storefront:t-storefront"),
        ("handover", "TEE-1", -3, None, "pos:t-pos"),
        ("return", "TEE-1", 3, None, "pos:t-pos"),
        ("damage", "TEE-1", -2, "returned damaged", "pos:t-pos"),
    ]
    notes = (
        await client.get(f"/v1/notifications?order_id={order['id']}", headers=keys.admin)
    ).json()
    [refund] = [n for n in notes if n["kind"] == "refunded"]
    assert "refunded 30.00 GBP" in refund["body"]  # damaged units are refunded all the same
    await books_balance(database_url)


async def test_a_replayed_return_writes_nothing_twice(
    client: Client, keys: Keys, database_url: str
) -> None:
    order = await collected(client, keys, 2)
    body = {
        "location": "STORE-A",
        "lines": [{"sku": "TEE-1", "quantity": 2, "disposition": "damaged"}],
    }
    headers = {**keys.pos, **idem()}
    first = await client.post(f"/v1/orders/{order['id']}/returns", json=body, headers=headers)
    again = await client.post(f"/v1/orders/{order['id']}/returns", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    kinds = [k for k, *_ in await movements_of(client, keys, f"order:{order['id']}")]
    assert kinds.count("damage") == 1 and kinds.count("return") == 1
    assert (await level(client, keys, "TEE-1", "STORE-A"))["on_hand"] == 0
    await books_balance(database_url)


async def test_a_disposition_that_is_not_one_is_refused(client: Client, keys: Keys) -> None:
    order = await collected(client, keys, 1)
    response = await client.post(
        f"/v1/orders/{order['id']}/returns",
        json={
            "location": "STORE-A",
            "lines": [{"sku": "TEE-1", "quantity": 1, "disposition": "lost"}],
        },
        headers={**keys.pos, **idem()},
    )
    assert response.status_code == 400, response.text
    assert (await level(client, keys, "TEE-1", "STORE-A"))["on_hand"] == 0


async def test_a_paid_orders_refund_is_the_same_for_damaged_units(
    shop: Client, keys: Keys, localstripe_url: str, db: Database
) -> None:
    await stock(shop, keys, "STORE-A", "TEE-1", 2)
    order = (await place(shop, keys.storefront, pickup_order("STORE-A", quantity=2))).json()
    await pay(shop, localstripe_url, order)
    assert (await shop.post(f"/v1/orders/{order['id']}/ready", headers=keys.pos)).status_code == 200
    code = await pickup_code(shop, keys, order["id"])
    handed = await shop.post(
        f"/v1/orders/{order['id']}/pickup", json={"pickup_code": code}, headers=keys.pos
    )
    assert handed.status_code == 200, handed.text

    returned = await shop.post(
        f"/v1/orders/{order['id']}/returns",
        json={
            "location": "STORE-A",
            "lines": [{"sku": "TEE-1", "quantity": 2, "disposition": "damaged"}],
        },
        headers={**keys.pos, **idem()},
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["payment"]["status"] == "refunded"
    async with db.engine.connect() as connection:
        refunds = (
            (
                await connection.execute(
                    select(PaymentAction.amount_minor).where(
                        PaymentAction.order_id == uuid.UUID(order["id"]),
                        PaymentAction.action == "refund",
                    )
                )
            )
            .scalars()
            .all()
        )
        total = (
            await connection.execute(
                select(Order.total_minor).where(Order.id == uuid.UUID(order["id"]))
            )
        ).scalar_one()
    assert list(refunds) == [total] == [2000]
    assert (await level(shop, keys, "TEE-1", "STORE-A"))["on_hand"] == 0


async def test_a_counter_return_may_be_damaged_too(
    client: Client, keys: Keys, database_url: str
) -> None:
    order = await collected(client, keys, 2)
    with_order = {
        "client_txn_id": "till-1:r1",
        "location": "STORE-A",
        "original_order_id": order["id"],
        "lines": [
            {"sku": "TEE-1", "quantity": 1, "unit_price_minor": 1000, "disposition": "damaged"},
            {"sku": "TEE-1", "quantity": 1, "unit_price_minor": 1000},
        ],
    }
    first = await client.post("/v1/pos/returns", json=with_order, headers=keys.pos)
    again = await client.post("/v1/pos/returns", json=with_order, headers=keys.pos)
    assert (first.status_code, again.status_code) == (201, 200), first.text
    assert first.json()["refund_minor"] == 2000
    assert [line["disposition"] for line in first.json()["lines"]] == ["damaged", "restock"]
    assert (await level(client, keys, "TEE-1", "STORE-A"))["on_hand"] == 1
    assert await movements_of(client, keys, "pos:till-1:r1") == [
        ("pos_return", "TEE-1", 2, None, "pos:t-pos"),
        ("damage", "TEE-1", -1, "returned damaged", "pos:t-pos"),
    ]
    changed = await client.post(
        "/v1/pos/returns",
        json={**with_order, "lines": [{**with_order["lines"][0], "disposition": "restock"}]},
        headers=keys.pos,
    )
    assert changed.status_code == 409, changed.text  # the same till transaction, other lines

    without_order = {
        "client_txn_id": "till-1:r2",
        "location": "STORE-A",
        "lines": [
            {"sku": "MUG-1", "quantity": 3, "unit_price_minor": 800, "disposition": "damaged"}
        ],
    }
    response = await client.post("/v1/pos/returns", json=without_order, headers=keys.pos)
    assert response.status_code == 201, response.text
    assert response.json()["refund_minor"] == 2400
    mug = await level(client, keys, "MUG-1", "STORE-A")
    assert (mug["on_hand"], mug["available"]) == (0, 0)
    await books_balance(database_url)
