"""Idempotency-Key: same key and body replays the first response; nothing happens twice."""

from __future__ import annotations

import asyncio
import json

from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import Keys

Client = AsyncTestClient[Litestar]
RECEIPT = {"location": "STORE-A", "sku": "TEE-1", "kind": "receipt", "quantity": 3}


async def ledger_size(client: Client, keys: Keys) -> int:
    body = (await client.get("/v1/stock/movements", headers=keys.admin)).json()
    return len(body["items"])


async def test_a_retry_replays_the_first_response_byte_for_byte(client: Client, keys: Keys) -> None:
    headers = {**keys.admin, "Idempotency-Key": "retry-1"}
    first = await client.post("/v1/stock/movements", json=RECEIPT, headers=headers)
    second = await client.post("/v1/stock/movements", json=RECEIPT, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.content == second.content
    assert second.headers["idempotent-replayed"] == "true"
    assert await ledger_size(client, keys) == 1


async def test_same_key_with_a_different_body_is_409(client: Client, keys: Keys) -> None:
    headers = {**keys.admin, "Idempotency-Key": "k-2"}
    await client.post("/v1/stock/movements", json=RECEIPT, headers=headers)
    response = await client.post(
        "/v1/stock/movements", json={**RECEIPT, "quantity": 4}, headers=headers
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_conflict"
    assert await ledger_size(client, keys) == 1


async def test_key_order_and_whitespace_do_not_make_a_different_request(
    client: Client, keys: Keys
) -> None:
    headers = {**keys.admin, "Idempotency-Key": "k-3", "Content-Type": "application/json"}
    await client.post("/v1/stock/movements", content=json.dumps(RECEIPT), headers=headers)
    reordered = json.dumps(dict(reversed(list(RECEIPT.items()))), indent=2)
    response = await client.post("/v1/stock/movements", content=reordered, headers=headers)
    assert response.status_code == 201
    assert await ledger_size(client, keys) == 1


async def test_keys_are_scoped_to_the_api_key(client: Client, keys: Keys) -> None:
    await client.post(
        "/v1/stock/movements", json=RECEIPT, headers={**keys.admin, "Idempotency-Key": "shared"}
    )
    response = await client.post(
        "/v1/stock/movements", json=RECEIPT, headers={**keys.pos, "Idempotency-Key": "shared"}
    )
    assert response.status_code == 201
    assert await ledger_size(client, keys) == 2


async def test_a_failed_request_is_replayed_as_the_same_failure(client: Client, keys: Keys) -> None:
    headers = {**keys.admin, "Idempotency-Key": "damage-1"}
    damage = {**RECEIPT, "kind": "damage"}
    first = await client.post("/v1/stock/movements", json=damage, headers=headers)
    assert first.status_code == 409
    await client.post(
        "/v1/stock/movements", json=RECEIPT, headers={**keys.admin, "Idempotency-Key": "restock"}
    )
    second = await client.post("/v1/stock/movements", json=damage, headers=headers)
    assert second.status_code == 409
    assert second.content == first.content


async def test_the_key_is_required_where_the_contract_says_so(client: Client, keys: Keys) -> None:
    response = await client.post("/v1/stock/movements", json=RECEIPT, headers=keys.admin)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert await ledger_size(client, keys) == 0


async def test_concurrent_duplicates_move_stock_once(client: Client, keys: Keys) -> None:
    headers = {**keys.admin, "Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *[client.post("/v1/stock/movements", json=RECEIPT, headers=headers) for _ in range(8)]
    )
    assert {r.status_code for r in responses} <= {201, 409}
    assert sum(r.status_code == 201 for r in responses) >= 1
    level = (await client.get("/v1/stock/TEE-1/STORE-A", headers=keys.admin)).json()
    assert level["on_hand"] == 3
    assert await ledger_size(client, keys) == 1


async def test_another_api_process_replays_the_same_response(
    client: Client, keys: Keys, settings: Settings
) -> None:
    """The record lives in the database, so a replica (or a restarted process) sees it."""
    headers = {**keys.admin, "Idempotency-Key": "cross-process"}
    first = await client.post("/v1/stock/movements", json=RECEIPT, headers=headers)
    async with AsyncTestClient(app=create_app(settings)) as other_process:
        second = await other_process.post("/v1/stock/movements", json=RECEIPT, headers=headers)
    assert second.status_code == 201
    assert second.content == first.content
    assert await ledger_size(client, keys) == 1
