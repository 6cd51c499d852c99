"""A lost pickup code is sent again (the old one dead at once, at most 3 an hour); a code
locked after too many wrong tries is unlocked by a manager of the pickup store or an admin."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.access.keys import create_api_key
from app.orders import pickup_codes
from app.orders.context import OrderContext
from app.orders.tables import Event
from app.platform.access import Principal, Role
from app.platform.database import Database
from app.platform.errors import Forbidden
from tests.conftest import Keys
from tests.e2e.test_orders_find import latest_code, pickup, placed
from tests.e2e.test_orders_pickup import pickup_code, stock
from tests.support.context import context_for

Client = AsyncTestClient[Litestar]

MANAGER_A = Principal(
    key_id="s", name="m", role=Role.MANAGER, stores=frozenset({"STORE-A"}), email="m@example.com"
)


async def ready_order(client: Client, keys: Keys, headers: dict[str, str] | None = None) -> Any:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    order = await placed(client, headers or keys.storefront, pickup())
    response = await client.post(f"/v1/orders/{order['id']}/ready", headers=keys.pos)
    assert response.status_code == 200, response.text
    return order


async def hand_over(client: Client, keys: Keys, order_id: str, code: str) -> Any:
    return await client.post(
        f"/v1/orders/{order_id}/pickup", json={"pickup_code": code}, headers=keys.pos
    )


async def events(db: Database, order_id: str, event: str) -> list[tuple[str, str]]:
    async with db.engine.connect() as connection:
        rows = await connection.execute(
            select(Event.actor, Event.summary).where(
                Event.order_id == uuid.UUID(order_id), Event.event == event
            )
        )
        return [(actor, summary) for actor, summary in rows]


async def test_a_resent_code_works_and_the_old_one_is_dead(
    client: Client, keys: Keys, db: Database
) -> None:
    order = await ready_order(client, keys)
    old = await pickup_code(client, keys, order["id"])

    resent = await client.post(f"/v1/orders/{order['id']}/resend-code", headers=keys.pos)
    assert resent.status_code == 200, resent.text
    assert resent.json()["status"] == "ready_for_pickup"
    notes = (
        await client.get(f"/v1/notifications?order_id={order['id']}", headers=keys.admin)
    ).json()
    [message] = [n for n in notes if n["kind"] == "pickup_code_resent"]
    assert message["to"] == "ada@example.com"
    new = await latest_code(client, keys, order["id"])
    assert new in message["body"] and len(new) == 6
    assert new not in resent.text  # the code goes to the customer, never to the caller
    if new != old:  # one chance in a million that the new code is the old one
        wrong = await hand_over(client, keys, order["id"], old)
        assert wrong.status_code == 422, wrong.text
        assert wrong.json()["error"]["code"] == "invalid_pickup_code"
    collected = await hand_over(client, keys, order["id"], new)
    assert collected.status_code == 200, collected.text
    assert collected.json()["status"] == "picked_up"
    assert [actor for actor, _ in await events(db, order["id"], "pickup_code_resent")] == [
        "pos:t-pos"
    ]


async def test_the_channel_that_placed_it_may_resend_but_not_another(
    client: Client, keys: Keys, db: Database
) -> None:
    order = await ready_order(client, keys)
    assert (
        await client.post(f"/v1/orders/{order['id']}/resend-code", headers=keys.storefront)
    ).status_code == 200
    other_channel = await client.post(f"/v1/orders/{order['id']}/resend-code", headers=keys.mobile)
    assert other_channel.status_code == 404, other_channel.text
    issued = await create_api_key(
        context_for(db), None, name="till-b", role=Role.POS, location="STORE-B"
    )
    other_store = await client.post(
        f"/v1/orders/{order['id']}/resend-code",
        headers={"Authorization": f"Bearer {issued.secret}"},
    )
    assert other_store.status_code == 403, other_store.text
    readonly = await client.post(f"/v1/orders/{order['id']}/resend-code", headers=keys.readonly)
    assert readonly.status_code == 403, readonly.text


async def test_at_most_three_resends_an_hour(client: Client, keys: Keys) -> None:
    order = await ready_order(client, keys)
    for _ in range(3):
        response = await client.post(f"/v1/orders/{order['id']}/resend-code", headers=keys.pos)
        assert response.status_code == 200, response.text
    code_before = await latest_code(client, keys, order["id"])

    limited = await client.post(f"/v1/orders/{order['id']}/resend-code", headers=keys.admin)
    assert limited.status_code == 429, limited.text
    assert limited.json()["error"]["code"] == "rate_limited"
    assert "retry_after" in limited.json()["error"]["details"]
    assert await latest_code(client, keys, order["id"]) == code_before  # nothing sent, none changed
    assert (await hand_over(client, keys, order["id"], code_before)).status_code == 200


async def test_only_a_ready_order_has_a_code_to_resend(client: Client, keys: Keys) -> None:
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    order = await placed(client, keys.storefront, pickup())
    response = await client.post(f"/v1/orders/{order['id']}/resend-code", headers=keys.pos)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "invalid_state"


async def lock_out(client: Client, keys: Keys, order_id: str, code: str) -> None:
    """Five wrong codes lock the order: the right one is then refused too."""
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert (await hand_over(client, keys, order_id, wrong)).status_code == 422
    locked = await hand_over(client, keys, order_id, code)
    assert locked.status_code == 429, locked.text


async def test_a_manager_of_the_store_unlocks_a_locked_code(
    client: Client, keys: Keys, db: Database, orders_ctx: OrderContext
) -> None:
    order = await ready_order(client, keys)
    code = await pickup_code(client, keys, order["id"])
    await lock_out(client, keys, order["id"], code)
    order_id = uuid.UUID(order["id"])

    elsewhere = Principal("s2", "m2", Role.MANAGER, stores=frozenset({"STORE-B"}), email="b@x.io")
    associate = Principal("s3", "a", Role.ASSOCIATE, stores=frozenset({"STORE-A"}), email="a@x.io")
    for refused in (elsewhere, associate):
        with pytest.raises(Forbidden):
            await pickup_codes.unlock_code(orders_ctx, refused, order_id)
    assert (await hand_over(client, keys, order["id"], code)).status_code == 429

    view = await pickup_codes.unlock_code(orders_ctx, MANAGER_A, order_id)
    assert view.status == "ready_for_pickup"
    [(actor, summary)] = await events(db, order["id"], "pickup_code_unlocked")
    assert actor == "m@example.com" and "5 wrong" in summary
    assert (await hand_over(client, keys, order["id"], code)).status_code == 200


async def test_an_admin_unlocks_over_http_and_a_till_may_not(client: Client, keys: Keys) -> None:
    order = await ready_order(client, keys)
    code = await pickup_code(client, keys, order["id"])
    await lock_out(client, keys, order["id"], code)

    for headers in (keys.pos, keys.storefront, keys.readonly):
        refused = await client.post(f"/v1/orders/{order['id']}/unlock", headers=headers)
        assert refused.status_code == 403, refused.text
    unlocked = await client.post(f"/v1/orders/{order['number']}/unlock", headers=keys.admin)
    assert unlocked.status_code == 200, unlocked.text
    assert (await hand_over(client, keys, order["id"], code)).status_code == 200

    closed = await client.post(f"/v1/orders/{order['id']}/unlock", headers=keys.admin)
    assert closed.status_code == 409, closed.text  # picked up: no code left to unlock
