"""Carts that travel (PRODUCT.md rule 12): started on the app, changed in the web store,
finished at the counter; held units are promised to nobody else until the hold ends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.carts import holding
from app.carts.repository import CartRepository
from app.config import Settings
from app.orders.context import OrderContext
from app.platform.tables import utcnow
from tests.conftest import Keys
from tests.e2e.test_orders_pickup import idem, level, stock
from tests.fault.audit import (
    levels_not_matching_their_movements,
    read_books,
    reserved_not_held_by_open_orders,
)

Client = AsyncTestClient[Litestar]
EMAIL = "ada@example.com"


def cart_body(lines: list[tuple[str, int]], hold_at: str | None = "STORE-A") -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {"email": EMAIL},
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }
    if hold_at:
        body["hold_at"] = hold_at
    return body


async def start(client: Client, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return await client.post("/v1/carts", headers={**headers, **idem()}, json=body)


async def audit(settings: Settings) -> list[str]:
    books = await read_books(settings.database_url)
    return levels_not_matching_their_movements(books) + reserved_not_held_by_open_orders(books)


async def test_start_on_the_app_finish_at_the_counter(
    client: Client, keys: Keys, settings: Settings
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 3)
    await stock(client, keys, "STORE-A", "TEE-2", 2)

    # on the app: two tees, held at the store the shopper will walk to
    started = await start(client, keys.mobile, cart_body([("TEE-1", 2)]))
    assert started.status_code == 201, started.text
    cart = started.json()
    assert cart["hold"]["location"] == "STORE-A" and cart["lines"][0]["held"] == 2
    assert cart["code_qr_svg"].startswith("<svg") and len(cart["code"]) == 6
    tee = await level(client, keys, "TEE-1", "STORE-A")
    assert (tee["on_hand"], tee["reserved"], tee["available"]) == (3, 2, 1)

    # in the web store: the same cart, one more item, still held
    [seen] = (
        await client.get("/v1/carts", headers=keys.storefront, params={"customer_email": EMAIL})
    ).json()
    assert seen["id"] == cart["id"]
    changed = await client.put(
        f"/v1/carts/{cart['id']}/lines",
        headers={**keys.storefront, **idem()},
        json={"lines": [{"sku": "TEE-1", "quantity": 2}, {"sku": "TEE-2", "quantity": 1}]},
    )
    assert changed.status_code == 200, changed.text
    assert {line["sku"]: line["held"] for line in changed.json()["lines"]} == {
        "TEE-1": 2,
        "TEE-2": 1,
    }
    assert (await level(client, keys, "TEE-2", "STORE-A"))["available"] == 1

    # at the counter: the code pulls it up, the sale completes it and takes the held units
    found = await client.get(f"/v1/carts/by-code/{cart['code'].lower()}", headers=keys.pos)
    assert found.status_code == 200 and found.json()["id"] == cart["id"]
    sold_body = {
        "client_txn_id": "till-1:0001",
        "location": "STORE-A",
        "occurred_at": datetime(2026, 11, 30, 10, 0, tzinfo=UTC).isoformat(),
        "cart_id": cart["id"],
    }
    sold = await client.post("/v1/pos/sales", headers=keys.pos, json=sold_body)
    assert sold.status_code == 201, sold.text
    retried = await client.post("/v1/pos/sales", headers=keys.pos, json=sold_body)
    assert (retried.status_code, retried.json()) == (200, sold.json())  # the till's retry
    assert sold.json()["cart_code"] == cart["code"] and sold.json()["total_minor"] == 3000
    tee = await level(client, keys, "TEE-1", "STORE-A")
    assert (tee["on_hand"], tee["reserved"], tee["available"]) == (1, 0, 1)
    tee2 = await level(client, keys, "TEE-2", "STORE-A")
    assert (tee2["on_hand"], tee2["reserved"]) == (1, 0)

    # completed once: the web store's checkout of the same cart is refused
    late = await client.post(
        f"/v1/carts/{cart['id']}/checkout",
        headers={**keys.storefront, **idem()},
        json={"fulfilment": {"type": "pickup"}},
    )
    assert late.status_code == 409 and late.json()["error"]["code"] == "invalid_state"
    done = (await client.get(f"/v1/carts/{cart['id']}", headers=keys.mobile)).json()
    assert done["status"] == "sold" and done["hold"] is None
    assert [(s["channel"], s["event"]) for s in done["channel_history"]] == [
        ("mobile", "cart_started"),
        ("mobile", "cart_held"),
        ("web", "cart_changed"),
        ("web", "cart_held"),
        ("pos", "cart_sold"),
    ]

    # one story in the customer's timeline, each step with its channel
    timeline = (
        await client.get(f"/v1/customers/{cart['customer_id']}/timeline", headers=keys.admin)
    ).json()
    assert [(e["channel"], e["event"]) for e in timeline] == [
        ("mobile", "cart_started"),
        ("mobile", "cart_held"),
        ("web", "cart_changed"),
        ("web", "cart_held"),
        ("pos", "cart_sold"),
        ("pos", "pos_sale"),
    ]
    assert await audit(settings) == []


async def test_a_hold_that_cannot_be_filled_is_409_with_alternatives(
    client: Client, keys: Keys
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 1)
    await stock(client, keys, "STORE-B", "TEE-1", 5)
    refused = await start(client, keys.mobile, cart_body([("TEE-1", 2)]))
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "insufficient_stock"
    [line] = error["details"]["lines"]
    assert (line["sku"], line["requested"], line["available"]) == ("TEE-1", 2, 1)
    assert [a["location"] for a in line["alternatives"]] == ["STORE-B"]
    assert (await level(client, keys, "TEE-1", "STORE-A"))["reserved"] == 0
    carts = await client.get("/v1/carts", headers=keys.mobile, params={"customer_email": EMAIL})
    assert carts.json() == []


async def test_held_units_are_nobody_elses_and_checkout_consumes_them(
    client: Client, keys: Keys, settings: Settings
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 2)
    cart = (await start(client, keys.mobile, cart_body([("TEE-1", 2)]))).json()
    other = await client.post(
        "/v1/orders",
        headers={**keys.storefront, **idem()},
        json={
            "customer": {"email": "bob@example.com"},
            "lines": [{"sku": "TEE-1", "quantity": 1}],
            "fulfilment": {"type": "pickup", "location": "STORE-A"},
        },
    )
    assert other.status_code == 409  # held for Ada

    no_key = await client.post(
        f"/v1/carts/{cart['id']}/checkout",
        headers=keys.mobile,
        json={"fulfilment": {"type": "pickup"}},
    )
    assert no_key.status_code == 400  # Idempotency-Key required
    ordered = await client.post(
        f"/v1/carts/{cart['id']}/checkout",
        headers={**keys.mobile, **idem()},
        json={"fulfilment": {"type": "pickup"}},
    )
    assert ordered.status_code == 201, ordered.text
    order = ordered.json()
    assert order["fulfilment"] == {"type": "pickup", "location": "STORE-A"}
    assert order["lines"][0]["allocations"] == [{"location": "STORE-A", "quantity": 2}]
    tee = await level(client, keys, "TEE-1", "STORE-A")
    assert (tee["on_hand"], tee["reserved"], tee["available"]) == (2, 2, 0)  # not 4 reserved
    again = await client.post(
        f"/v1/carts/{cart['id']}/checkout",
        headers={**keys.storefront, **idem()},
        json={"fulfilment": {"type": "pickup"}},
    )
    assert again.status_code == 409
    view = (await client.get(f"/v1/carts/{cart['id']}", headers=keys.pos)).json()
    assert (view["status"], view["order_id"]) == ("ordered", order["id"])
    assert await audit(settings) == []


async def test_a_hold_is_extended_once_and_capped_per_customer(
    client: Client, keys: Keys, orders_ctx: OrderContext
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 30)
    cart = (await start(client, keys.mobile, cart_body([("TEE-1", 15)]))).json()
    extended = await client.post(f"/v1/carts/{cart['id']}/extend", headers=keys.mobile)
    assert extended.status_code == 200, extended.text
    before = datetime.fromisoformat(cart["hold"]["held_until"])
    after = datetime.fromisoformat(extended.json()["hold"]["held_until"])
    assert after - before == orders_ctx.cart_hold and extended.json()["hold"]["extended"]
    twice = await client.post(f"/v1/carts/{cart['id']}/extend", headers=keys.mobile)
    assert twice.status_code == 409

    over = await start(client, keys.storefront, cart_body([("TEE-1", 6)]))
    assert over.status_code == 422  # 15 + 6 > MAX_HELD_UNITS (20)
    assert over.json()["error"]["details"]["max_held_units"] == 20
    assert (await level(client, keys, "TEE-1", "STORE-A"))["reserved"] == 15
    fits = await start(client, keys.storefront, cart_body([("TEE-1", 5)]))
    assert fits.status_code == 201
    readonly = await start(client, keys.readonly, cart_body([("TEE-1", 1)], hold_at=None))
    assert readonly.status_code == 403
    by_code = await client.get(f"/v1/carts/by-code/{cart['code']}", headers=keys.storefront)
    assert by_code.status_code == 403  # the counter's lookup


async def test_an_expired_hold_is_released_by_the_worker(
    client: Client, keys: Keys, orders_ctx: OrderContext, settings: Settings
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 2)
    cart = (await start(client, keys.mobile, cart_body([("TEE-1", 2)]))).json()
    assert (await level(client, keys, "TEE-1", "STORE-A"))["available"] == 0
    held_until = datetime.fromisoformat(cart["hold"]["held_until"])
    assert await holding.expire_due_holds(orders_ctx, now=held_until) == 1
    assert await holding.expire_due_holds(orders_ctx, now=held_until) == 0
    assert (await level(client, keys, "TEE-1", "STORE-A"))["available"] == 2
    view = (await client.get(f"/v1/carts/{cart['id']}", headers=keys.mobile)).json()
    assert view["status"] == "open" and view["hold"] is None
    assert view["lines"] == [
        {"sku": "TEE-1", "name": "TEE-1", "quantity": 2, "held": 0, "unit_price_minor": 1000}
    ]
    assert view["channel_history"][-1]["channel"] == "system"
    assert await audit(settings) == []


async def test_availability_starts_at_the_customers_preferred_store(
    client: Client, keys: Keys
) -> None:
    await stock(client, keys, "STORE-M", "TEE-1", 4)
    await stock(client, keys, "STORE-A", "TEE-1", 4)
    cart = (await start(client, keys.mobile, cart_body([("TEE-1", 1)], hold_at=None))).json()
    near = {"sku": "TEE-1", "customer_id": cart["customer_id"]}
    none_yet = await client.get("/v1/availability", headers=keys.mobile, params=near)
    assert none_yet.status_code == 422
    preferred = await client.patch(
        f"/v1/customers/{cart['customer_id']}",
        headers={**keys.mobile, **idem()},
        json={"preferred_location": "STORE-M"},
    )
    assert preferred.status_code == 200, preferred.text
    assert preferred.json() == {"id": cart["customer_id"], "preferred_location": "STORE-M"}
    found = await client.get("/v1/availability", headers=keys.mobile, params=near)
    assert found.status_code == 200, found.text
    assert [r["location"] for r in found.json()["results"]] == ["STORE-M"]  # not London
    assert found.json()["results"][0]["distance_km"] == 0.0
    nowhere = await client.get("/v1/availability", headers=keys.mobile, params={"sku": "TEE-1"})
    assert nowhere.status_code == 422
    refused = await client.patch(
        f"/v1/customers/{cart['customer_id']}",
        headers={**keys.readonly, **idem()},
        json={"preferred_location": "STORE-A"},
    )
    assert refused.status_code == 403


async def test_a_hold_that_ran_out_is_renewed_with_its_own_units(
    client: Client, keys: Keys, orders_ctx: OrderContext, settings: Settings
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 2)
    cart = (await start(client, keys.mobile, cart_body([("TEE-1", 2)]))).json()
    async with orders_ctx.uow() as uow:  # the hold ran out; the worker has not come round yet
        row = await CartRepository.of(uow).cart(uuid.UUID(cart["id"]), for_update=True)
        row.held_until = utcnow()
        await uow.commit()
    renewed = await client.put(
        f"/v1/carts/{cart['id']}/lines",
        headers={**keys.storefront, **idem()},
        json={"lines": [{"sku": "TEE-1", "quantity": 2}], "hold_at": "STORE-A"},
    )
    assert renewed.status_code == 200, renewed.text
    assert datetime.fromisoformat(renewed.json()["hold"]["held_until"]) > datetime.fromisoformat(
        cart["hold"]["held_until"]
    )
    tee = await level(client, keys, "TEE-1", "STORE-A")
    assert (tee["reserved"], tee["available"]) == (2, 0)
    assert await audit(settings) == []
