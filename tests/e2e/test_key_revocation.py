"""Keys can be listed and revoked, and a revoked key stops working at once (issue: no endpoint or
command revoked a key, and a key revoked by hand still worked for 10 s); a key issued under an
Idempotency-Key is not kept in clear for replays."""

from __future__ import annotations

import asyncio
import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.access.keys import CACHE_SECONDS
from app.platform.database import Database
from app.platform.idempotency.store import IdempotencyRecord
from tests.conftest import Keys

Client = AsyncTestClient[Litestar]


async def test_a_revoked_key_is_refused_within_a_second(client: Client, keys: Keys) -> None:
    issued = await client.post(
        "/v1/api-keys", headers=keys.admin, json={"name": "till 9", "role": "readonly"}
    )
    assert issued.status_code == 201
    secret = {"Authorization": f"Bearer {issued.json()['key']}"}
    assert (await client.get("/v1/skus", headers=secret)).status_code == 200  # now cached

    revoked = await client.delete(f"/v1/api-keys/{issued.json()['id']}", headers=keys.admin)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"]
    await asyncio.sleep(CACHE_SECONDS + 0.1)
    refused = await client.get("/v1/skus", headers=secret)
    assert refused.status_code == 401

    listed = (await client.get("/v1/api-keys", headers=keys.admin)).json()
    mine = [k for k in listed if k["id"] == issued.json()["id"]]
    assert mine and mine[0]["revoked_at"] and "key" not in mine[0]
    assert all("key" not in k and "key_hash" not in k for k in listed)


async def test_only_admins_list_or_revoke_keys(client: Client, keys: Keys) -> None:
    assert (await client.get("/v1/api-keys", headers=keys.readonly)).status_code == 403
    other = (await client.get("/v1/api-keys", headers=keys.admin)).json()[0]["id"]
    assert (await client.delete(f"/v1/api-keys/{other}", headers=keys.pos)).status_code == 403
    missing = await client.delete(f"/v1/api-keys/{uuid.uuid4()}", headers=keys.admin)
    assert missing.status_code == 404


async def test_a_new_key_is_not_kept_in_clear_for_idempotent_replays(
    client: Client, keys: Keys, db: Database
) -> None:
    headers = {**keys.admin, "Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "web 2", "role": "storefront"}
    first = await client.post("/v1/api-keys", headers=headers, json=body)
    secret = first.json()["key"]
    assert secret

    replay = await client.post("/v1/api-keys", headers=headers, json=body)
    assert replay.status_code == 201
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["key"] is None
    async with db.sessionmaker() as session:
        stored = (await session.execute(select(IdempotencyRecord.response_body))).scalars().all()
    assert stored and not any(secret.encode() in (b or b"") for b in stored)
