"""Webhook endpoints over HTTP: registering one (validation, the SSRF guard with
WEBHOOK_ALLOW_PRIVATE off, as in production), reading it without its secret, the delivery
log, replay and removal. Who may call each route is in test_authorization_matrix.py; the
deliveries themselves are tests/integration/test_webhook_delivery.py."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.platform.database import Database
from app.platform.idempotency.store import IdempotencyRecord
from tests.conftest import Keys, World

Client = AsyncTestClient[Litestar]

PUBLIC_URL = "https://93.184.215.14/omnistock/hooks"
"""A public address given as an IP literal: passes the guard without a DNS lookup."""


def body(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"url": PUBLIC_URL, "types": ["stock.changed"]}
    values.update(overrides)
    return values


async def test_register_read_replay_and_remove_an_endpoint(
    client: Client, keys: Keys, world: World
) -> None:
    created = await client.post(
        "/v1/webhook-endpoints",
        json=body(types=["stock.changed", "order.ready_for_pickup"], locations=["STORE-A"]),
        headers=keys.admin,
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    endpoint_id = created.json()["id"]
    assert secret.startswith("whsec_") and len(secret) > 40

    listed = await client.get("/v1/webhook-endpoints", headers=keys.admin)
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()["items"]] == [endpoint_id]
    one = await client.get(f"/v1/webhook-endpoints/{endpoint_id}", headers=keys.admin)
    assert one.status_code == 200
    shown = one.json()
    assert shown["url"] == PUBLIC_URL and shown["enabled"] is True
    assert shown["types"] == ["order.ready_for_pickup", "stock.changed"]
    assert shown["locations"] == ["STORE-A"]
    for answer in (listed, one):
        assert secret not in answer.text and secret.removeprefix("whsec_") not in answer.text

    deliveries = await client.get(
        f"/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=keys.admin
    )
    assert deliveries.status_code == 200 and deliveries.json() == {"items": []}

    await world.receive("STORE-A", "TEE-1", 3)
    head = (await client.get("/v1/events", headers=keys.admin)).json()["next_after"]
    replayed = await client.post(
        f"/v1/webhook-endpoints/{endpoint_id}/replay", json={"after": 0}, headers=keys.admin
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["delivered_through"] == 0
    beyond = await client.post(
        f"/v1/webhook-endpoints/{endpoint_id}/replay",
        json={"after": head + 1},
        headers=keys.admin,
    )
    assert beyond.status_code == 422, beyond.text

    removed = await client.delete(f"/v1/webhook-endpoints/{endpoint_id}", headers=keys.admin)
    assert removed.status_code == 200 and removed.json()["id"] == endpoint_id
    gone = await client.get(f"/v1/webhook-endpoints/{endpoint_id}", headers=keys.admin)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    again = await client.delete(f"/v1/webhook-endpoints/{endpoint_id}", headers=keys.admin)
    assert again.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",  # a name that resolves to loopback
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
    ],
)
async def test_private_and_loopback_targets_are_refused(
    client: Client, keys: Keys, world: World, url: str
) -> None:
    answer = await client.post("/v1/webhook-endpoints", json=body(url=url), headers=keys.admin)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "unprocessable"
    listed = await client.get("/v1/webhook-endpoints", headers=keys.admin)
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"url": "ftp://93.184.215.14/x"}, 400),
        ({"url": "https://user:pw@93.184.215.14/x"}, 422),
        ({"url": "https://no-such-host.invalid/x"}, 422),
        ({"types": []}, 400),
        ({"types": ["stock.exploded"]}, 400),
        ({"types": ["not a type"]}, 400),
        ({"locations": ["NOWHERE"]}, 422),
        ({"locations": []}, 400),
        ({"secret": "mine"}, 400),
    ],
)
async def test_bad_registrations_are_refused_and_change_nothing(
    client: Client, keys: Keys, world: World, overrides: dict[str, Any], status: int
) -> None:
    answer = await client.post("/v1/webhook-endpoints", json=body(**overrides), headers=keys.admin)
    assert answer.status_code == status, answer.text
    assert "error" in answer.json()
    listed = await client.get("/v1/webhook-endpoints", headers=keys.admin)
    assert listed.json()["items"] == []


async def test_unknown_endpoints_are_404(client: Client, keys: Keys, world: World) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    for answer in (
        await client.get(f"/v1/webhook-endpoints/{missing}", headers=keys.admin),
        await client.get(f"/v1/webhook-endpoints/{missing}/deliveries", headers=keys.admin),
        await client.post(
            f"/v1/webhook-endpoints/{missing}/replay", json={"after": 0}, headers=keys.admin
        ),
    ):
        assert answer.status_code == 404, answer.text


async def test_a_replayed_registration_never_shows_the_secret_again(
    client: Client, keys: Keys, world: World, db: Database
) -> None:
    headers = {**keys.admin, "Idempotency-Key": "register-erp-hook"}
    first = await client.post("/v1/webhook-endpoints", json=body(), headers=headers)
    again = await client.post("/v1/webhook-endpoints", json=body(), headers=headers)

    assert first.status_code == again.status_code == 201, again.text
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    assert again.json()["id"] == first.json()["id"] and again.json()["secret"] is None
    async with db.sessionmaker() as session:
        bodies = (await session.execute(select(IdempotencyRecord.response_body))).scalars()
        stored = b" ".join(b or b"" for b in bodies).decode()
    assert first.json()["id"] in stored  # the stored answer, less its secret
    assert secret.removeprefix("whsec_") not in stored
    listed = await client.get("/v1/webhook-endpoints", headers=keys.admin)
    assert len(listed.json()["items"]) == 1
