"""The store can say no, line by line (PRODUCT.md rule 8): lines ready in parts, units rejected
as damaged or not found (written off, the customer told), an order left with nothing
cancelled, a ship order's rejected units re-sourced, and a partial handover that captures
only what was handed over."""

from __future__ import annotations

from typing import Any

import stripe
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Keys, World
from tests.e2e.test_orders_pickup import idem, level, pay, pickup_code, place, stock
from tests.support.stripe import API_KEY

Client = AsyncTestClient[Litestar]

ADDRESS = {"line1": "2 Low Rd", "city": "Leeds", "postal_code": "LS1", "country": "GB"}


def order_of(lines: dict[str, int], email: str = "ada@example.com") -> dict[str, Any]:
    return {
        "customer": {"email": email, "name": "Ada"},
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines.items()],
        "fulfilment": {"type": "pickup", "location": "STORE-A"},
    }


def line(order: dict[str, Any], sku: str) -> dict[str, Any]:
    [found] = [entry for entry in order["lines"] if entry["sku"] == sku]
    return found


async def notes(client: Client, keys: Keys, order_id: str, kind: str) -> list[dict[str, Any]]:
    found = (await client.get(f"/v1/notifications?order_id={order_id}", headers=keys.admin)).json()
    return [n for n in found if n["kind"] == kind]


async def movements(client: Client, keys: Keys, sku: str, location: str) -> list[tuple[Any, ...]]:
    page = await client.get(
        f"/v1/stock/movements?sku={sku}&location={location}", headers=keys.admin
    )
    assert page.status_code == 200, page.text
    return [
        (m["kind"], m["on_hand_delta"], m["reserved_delta"], m["reason"], m["actor"])
        for m in page.json()["items"]
    ]


async def timeline(client: Client, keys: Keys, order: dict[str, Any]) -> list[tuple[str, str]]:
    entries = (
        await client.get(f"/v1/customers/{order['customer_id']}/timeline", headers=keys.admin)
    ).json()
    return [(e["event"], e["summary"]) for e in entries if e["order_id"] == order["id"]]


async def test_lines_ready_in_parts_keep_the_order_confirmed_until_all_are(
    client: Client, keys: Keys
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    await stock(client, keys, "STORE-A", "MUG-1", 5)
    order = (await place(client, keys.storefront, order_of({"TEE-1": 2, "MUG-1": 1}))).json()
    assert order["status"] == "confirmed"
    path = f"/v1/orders/{order['id']}/ready"

    part = await client.post(
        path, headers=keys.pos, json={"lines": [{"sku": "TEE-1", "quantity": 1}]}
    )
    assert part.status_code == 200, part.text
    assert part.json()["status"] == "confirmed"
    assert line(part.json(), "TEE-1")["ready_quantity"] == 1
    assert line(part.json(), "MUG-1")["ready_quantity"] == 0
    assert await notes(client, keys, order["id"], "ready_for_pickup") == []
    queue = await client.get("/v1/locations/STORE-A/pickups?status=confirmed", headers=keys.pos)
    [queued] = [o for o in queue.json() if o["id"] == order["id"]]
    assert line(queued, "TEE-1")["ready_quantity"] == 1

    too_many = await client.post(
        path,
        headers=keys.pos,
        json={
            "lines": [{"sku": "TEE-1", "quantity": 2}, {"sku": "TEE-2", "quantity": 1}],
            "rejected": [{"sku": "MUG-1", "quantity": 1, "reason": "damaged"}],
        },
    )
    assert too_many.status_code == 422, too_many.text
    problems = {p["sku"]: p["problem"] for p in too_many.json()["error"]["details"]["lines"]}
    assert problems == {"TEE-1": "too_many_units", "TEE-2": "not_in_order"}
    both = await client.post(
        path,
        headers=keys.pos,
        json={
            "lines": [{"sku": "MUG-1", "quantity": 1}],
            "rejected": [{"sku": "MUG-1", "quantity": 1, "reason": "damaged"}],
        },
    )
    assert both.status_code == 422, both.text  # 1 ready + 1 rejected of a line of 1
    assert (await level(client, keys, "MUG-1", "STORE-A"))["on_hand"] == 5  # nothing written off

    rest = await client.post(path, headers=keys.pos, json={})
    assert rest.status_code == 200, rest.text
    assert rest.json()["status"] == "ready_for_pickup"
    assert [line(rest.json(), s)["ready_quantity"] for s in ("TEE-1", "MUG-1")] == [2, 1]
    assert len(await notes(client, keys, order["id"], "ready_for_pickup")) == 1
    again = await client.post(path, headers=keys.pos)
    assert again.status_code == 409  # all ready already, as before
    events = [event for event, _ in await timeline(client, keys, order)]
    assert events.count("lines_ready") == 1 and "ready_for_pickup" in events


async def test_rejected_units_are_written_off_released_and_the_customer_told(
    client: Client, keys: Keys
) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    await stock(client, keys, "STORE-A", "MUG-1", 2)
    order = (await place(client, keys.storefront, order_of({"TEE-1": 3, "MUG-1": 1}))).json()
    assert order["total_minor"] == 4000
    body = {
        "rejected": [
            {"sku": "TEE-1", "quantity": 1, "reason": "damaged"},
            {"sku": "TEE-1", "quantity": 1, "reason": "not_found"},
        ]
    }
    headers = {**keys.pos, **idem()}
    worked = await client.post(f"/v1/orders/{order['id']}/ready", headers=headers, json=body)
    assert worked.status_code == 200, worked.text
    after = worked.json()
    # no `lines`: every unit not rejected is ready, so the code goes out
    assert after["status"] == "ready_for_pickup"
    assert after["total_minor"] == 2000
    tee = line(after, "TEE-1")
    assert (tee["quantity"], tee["ready_quantity"], tee["rejected_quantity"]) == (1, 1, 2)
    assert tee["allocations"] == [{"location": "STORE-A", "quantity": 1}]
    tee_level = await level(client, keys, "TEE-1", "STORE-A")
    assert (tee_level["on_hand"], tee_level["reserved"], tee_level["available"]) == (3, 1, 2)

    replay = await client.post(f"/v1/orders/{order['id']}/ready", headers=headers, json=body)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    written = [m for m in await movements(client, keys, "TEE-1", "STORE-A") if m[0] != "receipt"]
    assert written == [
        ("reservation", 0, 3, None, "storefront:t-storefront"),
        ("release", 0, -1, None, "pos:t-pos"),
        ("damage", -1, 0, f"rejected from order {order['number']}: damaged", "pos:t-pos"),
        ("release", 0, -1, None, "pos:t-pos"),
        ("adjustment", -1, 0, f"rejected from order {order['number']}: not found", "pos:t-pos"),
    ]
    [told] = await notes(client, keys, order["id"], "lines_rejected")
    assert "2 x TEE-1" in told["body"] and "will not be charged" in told["body"]
    summaries = dict(await timeline(client, keys, order))
    assert "1 x TEE-1 (damaged), 1 x TEE-1 (not found)" in summaries["lines_rejected"]

    # a ready unit found damaged at the counter is rejected too; the order stays ready
    late = await client.post(
        f"/v1/orders/{order['id']}/reject",
        headers=keys.pos,
        json={"lines": [{"sku": "MUG-1", "quantity": 1, "reason": "other"}]},
    )
    assert late.status_code == 200, late.text
    assert late.json()["status"] == "ready_for_pickup" and late.json()["total_minor"] == 1000


async def test_an_order_with_every_unit_rejected_is_cancelled(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 2)
    order = (await place(client, keys.storefront, order_of({"TEE-1": 2}))).json()
    gone = await client.post(
        f"/v1/orders/{order['id']}/ready",
        headers=keys.pos,
        json={"rejected": [{"sku": "TEE-1", "quantity": 2, "reason": "not_found"}]},
    )
    assert gone.status_code == 200, gone.text
    assert gone.json()["status"] == "cancelled"
    assert gone.json()["total_minor"] == 0
    after = await level(client, keys, "TEE-1", "STORE-A")
    assert (after["on_hand"], after["reserved"]) == (0, 0)
    [told] = await notes(client, keys, order["id"], "lines_rejected")
    assert "cancelled" in told["body"]
    assert await notes(client, keys, order["id"], "ready_for_pickup") == []


async def test_a_ship_orders_rejected_units_are_re_sourced_else_leave_it(
    client: Client, keys: Keys, world: World
) -> None:
    await world.location(
        "WH-2", kind="warehouse", pickup_enabled=False, ship_enabled=True, latitude=52.0
    )
    await stock(client, keys, "WH-1", "MUG-1", 2)
    await stock(client, keys, "WH-2", "MUG-1", 1)
    created = await place(
        client,
        keys.admin,
        {
            "customer": {"email": "ian@example.com"},
            "lines": [{"sku": "MUG-1", "quantity": 2}],
            "fulfilment": {"type": "ship", "address": ADDRESS},
            "channel": "admin",
        },
    )
    order = created.json()
    assert line(order, "MUG-1")["allocations"] == [{"location": "WH-1", "quantity": 2}]
    not_ready = await client.post(
        f"/v1/orders/{order['id']}/ready",
        headers=keys.admin,
        json={"lines": [{"sku": "MUG-1", "quantity": 1}]},
    )
    assert not_ready.status_code == 422  # a ship order is not marked ready

    first = await client.post(
        f"/v1/orders/{order['id']}/reject",
        headers=keys.admin,
        json={"lines": [{"sku": "MUG-1", "quantity": 1, "reason": "damaged"}]},
    )
    assert first.status_code == 200, first.text
    moved = first.json()
    assert sorted((a["location"], a["quantity"]) for a in line(moved, "MUG-1")["allocations"]) == [
        ("WH-1", 1),
        ("WH-2", 1),
    ]
    assert (line(moved, "MUG-1")["quantity"], moved["total_minor"]) == (2, 2000)
    assert [m[:3] for m in await movements(client, keys, "MUG-1", "WH-1")][-2:] == [
        ("release", 0, -1),
        ("damage", -1, 0),
    ]
    assert await notes(client, keys, order["id"], "lines_rejected") == []

    # nowhere else has one: it leaves the order, uncharged, and the customer is told
    second = await client.post(
        f"/v1/orders/{order['id']}/reject",
        headers=keys.admin,
        json={
            "lines": [{"sku": "MUG-1", "quantity": 1, "reason": "not_found"}],
            "location": "WH-2",
        },
    )
    assert second.status_code == 200, second.text
    left = second.json()
    mug = line(left, "MUG-1")
    assert (mug["quantity"], mug["rejected_quantity"], left["total_minor"]) == (1, 1, 1000)
    assert mug["allocations"] == [{"location": "WH-1", "quantity": 1}]
    assert left["status"] == "confirmed"
    assert len(await notes(client, keys, order["id"], "lines_rejected")) == 1
    wh2 = await level(client, keys, "MUG-1", "WH-2")
    assert (wh2["on_hand"], wh2["reserved"]) == (0, 0)

    shipped = await client.post(f"/v1/orders/{order['id']}/ship", headers=keys.admin)
    assert shipped.status_code == 200, shipped.text
    assert line(shipped.json(), "MUG-1")["handed_over_quantity"] == 1
    wh1 = await level(client, keys, "MUG-1", "WH-1")
    assert (wh1["on_hand"], wh1["reserved"]) == (0, 0)


async def test_a_partial_handover_captures_only_what_was_handed_over(
    shop: Client, keys: Keys, localstripe_url: str
) -> None:
    await stock(shop, keys, "STORE-A", "TEE-1", 5)
    await stock(shop, keys, "STORE-A", "MUG-1", 5)
    order = (await place(shop, keys.storefront, order_of({"TEE-1": 3, "MUG-1": 1}))).json()
    assert order["total_minor"] == 4000
    await pay(shop, localstripe_url, order)
    worked = await shop.post(
        f"/v1/orders/{order['id']}/ready",
        headers=keys.pos,
        json={"rejected": [{"sku": "MUG-1", "quantity": 1, "reason": "damaged"}]},
    )
    assert worked.status_code == 200, worked.text
    assert worked.json()["total_minor"] == 3000
    code = await pickup_code(shop, keys, order["id"])

    over = await shop.post(
        f"/v1/orders/{order['id']}/pickup",
        headers=keys.pos,
        json={"pickup_code": code, "lines": [{"sku": "TEE-1", "quantity": 4}]},
    )
    assert over.status_code == 422, over.text
    handed = await shop.post(
        f"/v1/orders/{order['id']}/pickup",
        headers=keys.pos,
        json={"pickup_code": code, "lines": [{"sku": "TEE-1", "quantity": 2}]},
    )
    assert handed.status_code == 200, handed.text
    done = handed.json()
    assert done["status"] == "picked_up" and done["total_minor"] == 2000
    tee = line(done, "TEE-1")
    assert (tee["quantity"], tee["handed_over_quantity"]) == (2, 2)

    intent = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url}).v1
    charge = intent.payment_intents.retrieve(order["payment"]["payment_intent_id"]).latest_charge
    charged = intent.charges.retrieve(str(getattr(charge, "id", charge)))
    assert charged.amount - charged.amount_refunded == 2000  # 2 x 1000 of 4000 authorised
    after = await level(shop, keys, "TEE-1", "STORE-A")
    assert (after["on_hand"], after["reserved"]) == (3, 0)  # the third unit is back on sale
    assert [m[:3] for m in await movements(shop, keys, "TEE-1", "STORE-A")][-2:] == [
        ("handover", -2, -2),
        ("release", 0, -1),
    ]
    summaries = dict(await timeline(shop, keys, order))
    assert "2 of 3 x TEE-1" in summaries["picked_up"]
