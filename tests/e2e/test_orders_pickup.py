"""Buy online, pick up in store: reserve, authorise with Stripe (localstripe), confirm by
webhook, mark ready with a pickup code, hand over against it, capture."""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Keys
from tests.support.stripe import Customer, signed_event

Client = AsyncTestClient[Litestar]


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def stock(client: Client, keys: Keys, location: str, sku: str, quantity: int) -> None:
    response = await client.post(
        "/v1/stock/movements",
        headers={**keys.admin, **idem()},
        json={"location": location, "sku": sku, "kind": "receipt", "quantity": quantity},
    )
    assert response.status_code == 201, response.text


async def level(client: Client, keys: Keys, sku: str, location: str) -> dict[str, Any]:
    return (await client.get(f"/v1/stock/{sku}/{location}", headers=keys.admin)).json()


def pickup_order(
    location: str = "STORE-A", quantity: int = 2, email: str = "ada@example.com"
) -> dict[str, Any]:
    return {
        "customer": {"email": email, "name": "Ada"},
        "lines": [{"sku": "TEE-1", "quantity": quantity}],
        "fulfilment": {"type": "pickup", "location": location},
    }


async def place(client: Client, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return await client.post("/v1/orders", headers={**headers, **idem()}, json=body)


async def pay(shop: Client, localstripe_url: str, order: dict[str, Any]) -> dict[str, Any]:
    """The shopper confirms the card; Stripe tells us the amount is capturable."""
    intent = order["payment"]["payment_intent_id"]
    assert Customer(localstripe_url).pays(intent) == "requires_capture"
    body, headers = signed_event("payment_intent.amount_capturable_updated", intent)
    response = await shop.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def pickup_code(client: Client, keys: Keys, order_id: str) -> str:
    notes = (await client.get(f"/v1/notifications?order_id={order_id}", headers=keys.admin)).json()
    [ready] = [n for n in notes if n["kind"] == "ready_for_pickup"]
    return re.search(r"\b(\d{6})\b", ready["body"]).group(1)  # type: ignore[union-attr]


async def test_the_whole_pickup_journey(shop: Client, keys: Keys, localstripe_url: str) -> None:
    await stock(shop, keys, "STORE-A", "TEE-1", 5)

    created = await place(shop, keys.storefront, pickup_order())
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "pending_payment"
    assert order["channel"] == "web"
    assert order["total_minor"] == 2000 and order["currency"] == "GBP"
    assert order["lines"] == [
        {
            "sku": "TEE-1",
            "quantity": 2,
            "unit_price_minor": 1000,
            "allocations": [{"location": "STORE-A", "quantity": 2}],
            "returned_quantity": 0,
            "name": "TEE-1",  # the catalogue's name of the SKU (the `world` names them so)
            "ready_quantity": 0,
            "rejected_quantity": 0,
            "handed_over_quantity": 0,
        }
    ]
    assert order["payment"]["provider"] == "stripe"
    assert order["payment"]["client_secret"].startswith(order["payment"]["payment_intent_id"])
    assert (await level(shop, keys, "TEE-1", "STORE-A"))["reserved"] == 2

    assert (await pay(shop, localstripe_url, order))["outcome"] == "confirmed"
    order = (await shop.get(f"/v1/orders/{order['id']}", headers=keys.storefront)).json()
    assert order["status"] == "confirmed"

    queue = (await shop.get("/v1/locations/STORE-A/pickups", headers=keys.pos)).json()
    assert [o["id"] for o in queue] == [order["id"]]

    ready = await shop.post(f"/v1/orders/{order['id']}/ready", headers=keys.pos)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready_for_pickup"
    assert "pickup_code" not in ready.text
    code = await pickup_code(shop, keys, order["id"])

    wrong = "000000" if code != "000000" else "111111"
    refused = await shop.post(
        f"/v1/orders/{order['id']}/pickup", headers=keys.pos, json={"pickup_code": wrong}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_pickup_code"

    handed = await shop.post(
        f"/v1/orders/{order['id']}/pickup", headers=keys.pos, json={"pickup_code": code}
    )
    assert handed.status_code == 200, handed.text
    assert handed.json()["status"] == "picked_up"
    assert Customer(localstripe_url).status(order["payment"]["payment_intent_id"]) == "succeeded"
    after = await level(shop, keys, "TEE-1", "STORE-A")
    assert (after["on_hand"], after["reserved"]) == (3, 0)

    events = [
        (m["kind"], m["on_hand_delta"], m["reserved_delta"])
        for m in (await shop.get("/v1/stock/movements?sku=TEE-1", headers=keys.admin)).json()[
            "items"
        ]
    ]
    assert events == [("receipt", 5, 0), ("reservation", 0, 2), ("handover", -2, -2)]


async def test_only_a_pos_key_of_the_pickup_store_hands_over(
    shop: Client, keys: Keys, localstripe_url: str
) -> None:
    await stock(shop, keys, "STORE-B", "TEE-1", 3)
    order = (await place(shop, keys.mobile, pickup_order("STORE-B"))).json()
    await pay(shop, localstripe_url, order)
    assert (
        await shop.post(f"/v1/orders/{order['id']}/ready", headers=keys.pos)
    ).status_code == 403  # the POS key is STORE-A's
    assert (
        await shop.post(f"/v1/orders/{order['id']}/ready", headers=keys.admin)
    ).status_code == 200
    code = await pickup_code(shop, keys, order["id"])
    for headers in (keys.admin, keys.pos, keys.mobile):
        response = await shop.post(
            f"/v1/orders/{order['id']}/pickup", headers=headers, json={"pickup_code": code}
        )
        assert response.status_code == 403


async def test_repeated_wrong_codes_are_throttled(
    shop: Client, keys: Keys, localstripe_url: str
) -> None:
    await stock(shop, keys, "STORE-A", "TEE-1", 3)
    order = (await place(shop, keys.storefront, pickup_order())).json()
    await pay(shop, localstripe_url, order)
    await shop.post(f"/v1/orders/{order['id']}/ready", headers=keys.pos)
    code = await pickup_code(shop, keys, order["id"])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    statuses = [
        (
            await shop.post(
                f"/v1/orders/{order['id']}/pickup", headers=keys.pos, json={"pickup_code": wrong}
            )
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [422] * 5
    locked = await shop.post(
        f"/v1/orders/{order['id']}/pickup", headers=keys.pos, json={"pickup_code": code}
    )
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "rate_limited"


async def test_short_stock_is_409_naming_nearby_stores_and_reserves_nothing(
    shop: Client, keys: Keys
) -> None:
    await stock(shop, keys, "STORE-A", "TEE-1", 1)
    await stock(shop, keys, "STORE-B", "TEE-1", 4)
    await stock(shop, keys, "STORE-M", "TEE-1", 9)
    response = await place(shop, keys.storefront, pickup_order("STORE-A", quantity=3))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_stock"
    [line] = error["details"]["lines"]
    assert (line["sku"], line["requested"], line["available"]) == ("TEE-1", 3, 1)
    # Shoreditch is 4.4 km away; Manchester is out of range.
    assert [(a["location"], a["available"]) for a in line["alternatives"]] == [("STORE-B", 4)]
    assert 4 < line["alternatives"][0]["distance_km"] < 5
    assert (await level(shop, keys, "TEE-1", "STORE-A"))["reserved"] == 0
    assert (await shop.get("/v1/orders", headers=keys.admin)).json()["items"] == []


async def test_cancel_releases_stock_and_the_authorisation(
    shop: Client, keys: Keys, localstripe_url: str
) -> None:
    await stock(shop, keys, "STORE-A", "TEE-1", 2)
    order = (await place(shop, keys.storefront, pickup_order())).json()
    await pay(shop, localstripe_url, order)
    cancelled = await shop.post(f"/v1/orders/{order['id']}/cancel", headers=keys.storefront)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert (await level(shop, keys, "TEE-1", "STORE-A"))["reserved"] == 0
    assert Customer(localstripe_url).status(order["payment"]["payment_intent_id"]) == "canceled"
    again = await shop.post(f"/v1/orders/{order['id']}/cancel", headers=keys.storefront)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_state"


async def test_webhooks_are_verified_deduplicated_and_order_independent(
    shop: Client, keys: Keys, localstripe_url: str
) -> None:
    await stock(shop, keys, "STORE-A", "TEE-1", 4)
    order = (await place(shop, keys.storefront, pickup_order())).json()
    intent = order["payment"]["payment_intent_id"]

    body, headers = signed_event("payment_intent.amount_capturable_updated", intent)
    forged = await shop.post(
        "/webhooks/stripe", content=body, headers={**headers, "Stripe-Signature": "t=1,v1=00"}
    )
    assert forged.status_code == 401

    # The customer abandons; the cancel event overtakes the earlier capturable one.
    Customer(localstripe_url).client.v1.payment_intents.cancel(intent)
    late_body, late_headers = signed_event("payment_intent.amount_capturable_updated", intent)
    body, headers = signed_event("payment_intent.canceled", intent)
    assert (await shop.post("/webhooks/stripe", content=body, headers=headers)).json()[
        "outcome"
    ] == "released"
    assert (await shop.post("/webhooks/stripe", content=body, headers=headers)).json()[
        "outcome"
    ] == "duplicate"
    assert (await shop.post("/webhooks/stripe", content=late_body, headers=late_headers)).json()[
        "outcome"
    ] == "no change"
    current = (await shop.get(f"/v1/orders/{order['id']}", headers=keys.admin)).json()
    assert current["status"] == "cancelled"
    assert (await level(shop, keys, "TEE-1", "STORE-A"))["reserved"] == 0


async def test_orders_are_idempotent_and_channel_scoped(shop: Client, keys: Keys) -> None:
    await stock(shop, keys, "STORE-A", "TEE-1", 5)
    headers = {**keys.mobile, "Idempotency-Key": "checkout-1"}
    first = await shop.post("/v1/orders", headers=headers, json=pickup_order())
    second = await shop.post("/v1/orders", headers=headers, json=pickup_order())
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert (await level(shop, keys, "TEE-1", "STORE-A"))["reserved"] == 2
    order_id = first.json()["id"]
    assert first.json()["channel"] == "mobile"
    assert (await shop.get(f"/v1/orders/{order_id}", headers=keys.storefront)).status_code == 404
    assert (await shop.get("/v1/orders", headers=keys.storefront)).json()["items"] == []
    assert len((await shop.get("/v1/orders", headers=keys.mobile)).json()["items"]) == 1
    missing_key = await shop.post("/v1/orders", headers=keys.mobile, json=pickup_order())
    assert missing_key.status_code == 400


async def test_shipping_captures_the_payment_and_takes_the_units(
    shop: Client, keys: Keys, localstripe_url: str
) -> None:
    await stock(shop, keys, "WH-1", "MUG-1", 4)
    order = (
        await place(
            shop,
            keys.storefront,
            {
                "customer": {"email": "ian@example.com"},
                "lines": [{"sku": "MUG-1", "quantity": 3}],
                "fulfilment": {
                    "type": "ship",
                    "address": {
                        "line1": "2 Low Rd",
                        "city": "Leeds",
                        "postal_code": "LS1",
                        "country": "gb",
                    },
                },
            },
        )
    ).json()
    assert order["lines"][0]["allocations"] == [{"location": "WH-1", "quantity": 3}]
    early = await shop.post(f"/v1/orders/{order['id']}/ship", headers=keys.admin)
    assert early.status_code == 409  # not paid yet
    await pay(shop, localstripe_url, order)
    shipped = await shop.post(f"/v1/orders/{order['id']}/ship", headers=keys.admin)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped"
    assert Customer(localstripe_url).status(order["payment"]["payment_intent_id"]) == "succeeded"
    after = await level(shop, keys, "MUG-1", "WH-1")
    assert (after["on_hand"], after["reserved"]) == (1, 0)
