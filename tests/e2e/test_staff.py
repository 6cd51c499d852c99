"""People, not keys, are accountable (PRODUCT.md rule 9; issue "The store's day", item 1): admins
add staff, a person signs in with email and password, acts at their own stores only, and every
movement and till sale they make names them; wrong passwords are answered alike and locked out,
and signing out or deactivation ends a session on every replica within a second."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select, update

from app.access.keys import CACHE_SECONDS
from app.access.staff import PASSWORDS
from app.access.staff_tables import Staff, StaffSession
from app.platform.database import Database
from app.platform.http.idempotency import request_fingerprint
from app.platform.idempotency.store import IdempotencyRecord
from app.pos.tables import PosTransaction
from tests.conftest import Keys

Client = AsyncTestClient[Litestar]

PASSWORD = "a long shift at the till"


def idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def person(email: str = "Ana.Silva@Example.com", **overrides: Any) -> dict[str, Any]:
    return {
        "email": email,
        "name": "Ana Silva",
        "role": "associate",
        "locations": ["STORE-A"],
        "password": PASSWORD,
        **overrides,
    }


async def add(client: Client, keys: Keys, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/staff", json=person(**overrides), headers=keys.admin)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def sign_in(client: Client, email: str, password: str = PASSWORD) -> Any:
    return await client.post("/v1/sessions", json={"email": email, "password": password})


async def signed_in(client: Client, email: str = "ana.silva@example.com") -> dict[str, str]:
    response = await sign_in(client, email)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_admins_add_list_and_deactivate_staff(client: Client, keys: Keys) -> None:
    made = await add(client, keys, locations=["STORE-B", "STORE-A"], role="manager")
    assert made["email"] == "ana.silva@example.com"  # one person whatever the case
    assert made["locations"] == ["STORE-A", "STORE-B"]
    assert made["role"] == "manager" and made["deactivated_at"] is None
    assert "password" not in made and "password_hash" not in made
    await add(client, keys, email="bo@example.com", name="Bo")

    first = await client.get("/v1/staff", params={"limit": 1}, headers=keys.admin)
    assert first.status_code == 200
    assert [p["email"] for p in first.json()["items"]] == ["ana.silva@example.com"]
    rest = await client.get(
        "/v1/staff", params={"cursor": first.json()["next_cursor"]}, headers=keys.admin
    )
    assert [p["email"] for p in rest.json()["items"]] == ["bo@example.com"]
    assert rest.json()["next_cursor"] is None
    assert PASSWORD not in first.text + rest.text and "argon2" not in first.text + rest.text

    gone = await client.delete(f"/v1/staff/{made['id']}", headers=keys.admin)
    assert gone.status_code == 200 and gone.json()["deactivated_at"]
    listed = (await client.get("/v1/staff", headers=keys.admin)).json()["items"]
    assert [p["deactivated_at"] is not None for p in listed] == [True, False]
    missing = await client.delete("/v1/staff/999999", headers=keys.admin)
    assert missing.status_code == 404


async def test_only_admins_manage_staff(client: Client, keys: Keys) -> None:
    made = await add(client, keys)
    for headers in (keys.pos, keys.readonly, keys.storefront, keys.mobile):
        assert (await client.get("/v1/staff", headers=headers)).status_code == 403
        refused = await client.post(
            "/v1/staff", json=person("new@example.com"), headers={**headers, **idem()}
        )
        assert refused.status_code == 403
        assert (await client.delete(f"/v1/staff/{made['id']}", headers=headers)).status_code == 403
    staff_token = await signed_in(client)
    assert (await client.get("/v1/staff", headers=staff_token)).status_code == 403
    assert (await client.get("/v1/staff")).status_code == 401


async def test_a_new_account_is_checked(client: Client, keys: Keys) -> None:
    await add(client, keys)
    cases = [
        (person("ANA.SILVA@example.com"), 409, "conflict"),
        (person("x@example.com", password="too short"), 400, "validation_error"),
        (person("x@example.com", password="x" * 201), 400, "validation_error"),
        (person("x@example.com", role="admin"), 400, "validation_error"),
        (person("x@example.com", locations=[]), 400, "validation_error"),
        (person("x@example.com", locations=["NOWHERE"]), 404, "not_found"),
        (person("not an email"), 422, "unprocessable"),
    ]
    for body, status, code in cases:
        response = await client.post("/v1/staff", json=body, headers=keys.admin)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), body
        assert PASSWORD not in response.text


async def test_a_person_acts_named_at_their_own_stores_only(
    client: Client, keys: Keys, db: Database
) -> None:
    await add(client, keys)
    response = await sign_in(client, "ANA.SILVA@example.com")
    assert response.status_code == 201, response.text
    session = response.json()
    assert session["token"].startswith("oss_")
    expires = datetime.fromisoformat(session["expires_at"])
    assert timedelta(hours=11, minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=12)
    assert session["staff"]["locations"] == ["STORE-A"] and "password" not in response.text
    ana = {"Authorization": f"Bearer {session['token']}"}

    receipt = {"location": "STORE-A", "sku": "TEE-1", "kind": "receipt", "quantity": 5}
    received = await client.post("/v1/stock/movements", json=receipt, headers={**ana, **idem()})
    assert received.status_code == 201, received.text
    sale = {
        "client_txn_id": "till-1-0001",
        "location": "STORE-A",
        "occurred_at": "2026-03-02T10:00:00Z",
        "lines": [{"sku": "TEE-1", "quantity": 2, "unit_price_minor": 1000}],
    }
    sold = await client.post("/v1/pos/sales", json=sale, headers=ana)
    assert sold.status_code == 201, sold.text

    ledger = await client.get("/v1/stock/movements", params={"location": "STORE-A"}, headers=ana)
    assert ledger.status_code == 200
    assert [(m["kind"], m["actor"]) for m in ledger.json()["items"]] == [
        ("receipt", "ana.silva@example.com"),
        ("pos_sale", "ana.silva@example.com"),
    ]
    async with db.sessionmaker() as s:
        actors = (await s.execute(select(PosTransaction.actor))).scalars().all()
    assert actors == ["ana.silva@example.com"]

    elsewhere = {**receipt, "location": "STORE-B"}
    refused = await client.post("/v1/stock/movements", json=elsewhere, headers={**ana, **idem()})
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["stores"] == ["STORE-A"]
    other_ledger = await client.get(
        "/v1/stock/movements", params={"location": "STORE-B"}, headers=ana
    )
    assert other_ledger.status_code == 403
    assert (await client.get("/v1/notifications", headers=ana)).status_code == 403


async def test_wrong_password_and_unknown_email_get_one_answer(client: Client, keys: Keys) -> None:
    await add(client, keys)
    wrong = await sign_in(client, "ana.silva@example.com", "not the password")
    unknown = await sign_in(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "unauthorized"
    assert "not the password" not in wrong.text


async def test_five_wrong_passwords_lock_the_email_out(client: Client, keys: Keys) -> None:
    await add(client, keys)
    for email in ("ana.silva@example.com", "nobody@example.com"):
        for _ in range(5):
            assert (await sign_in(client, email, "guess guess guess")).status_code == 401
        locked = await sign_in(client, email)  # even the right password, for a while
        assert locked.status_code == 429
        error = locked.json()["error"]
        assert error["code"] == "rate_limited"
        until = datetime.fromisoformat(error["details"]["retry_after"])
        assert timedelta(minutes=14) < until - datetime.now(UTC) <= timedelta(minutes=15)
    assert (await sign_in(client, "ANA.Silva@example.com")).status_code == 429
    other = await add(client, keys, email="bo@example.com")
    assert (await sign_in(client, other["email"])).status_code == 201  # per email


async def test_a_success_forgets_earlier_failures(client: Client, keys: Keys) -> None:
    await add(client, keys)
    for _ in range(4):
        assert (await sign_in(client, "ana.silva@example.com", "wrong wrong")).status_code == 401
    assert (await sign_in(client, "ana.silva@example.com")).status_code == 201
    for _ in range(4):
        assert (await sign_in(client, "ana.silva@example.com", "wrong wrong")).status_code == 401
    assert (await sign_in(client, "ana.silva@example.com")).status_code == 201


async def test_signing_out_ends_the_session(client: Client, keys: Keys) -> None:
    await add(client, keys)
    ana = await signed_in(client)
    other_tablet = await signed_in(client)
    assert (await client.get("/v1/skus", headers=ana)).status_code == 200
    out = await client.delete("/v1/sessions/current", headers=ana)
    assert out.status_code == 204
    assert (await client.get("/v1/skus", headers=ana)).status_code == 401  # this process: at once
    assert (await client.get("/v1/skus", headers=other_tablet)).status_code == 200
    key_out = await client.delete("/v1/sessions/current", headers=keys.pos)
    assert key_out.status_code == 403  # a key has no session: it is revoked instead


async def test_deactivation_ends_every_session_within_a_second(client: Client, keys: Keys) -> None:
    made = await add(client, keys)
    ana = await signed_in(client)
    assert (await client.get("/v1/skus", headers=ana)).status_code == 200  # now cached
    assert (await client.delete(f"/v1/staff/{made['id']}", headers=keys.admin)).status_code == 200
    await asyncio.sleep(CACHE_SECONDS + 0.1)
    assert (await client.get("/v1/skus", headers=ana)).status_code == 401
    assert (await sign_in(client, made["email"])).status_code == 401


async def test_an_expired_session_is_refused(client: Client, keys: Keys, db: Database) -> None:
    await add(client, keys)
    ana = await signed_in(client)
    async with db.engine.begin() as connection:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await connection.execute(update(StaffSession).values(expires_at=past))
    await asyncio.sleep(CACHE_SECONDS + 0.1)
    assert (await client.get("/v1/skus", headers=ana)).status_code == 401


async def test_passwords_are_argon2_hashes_and_never_kept_in_clear(
    client: Client, keys: Keys, db: Database
) -> None:
    response = await client.post("/v1/staff", json=person(), headers={**keys.admin, **idem()})
    assert response.status_code == 201
    headers = idem()
    signed = await client.post(
        "/v1/sessions",
        json={"email": "ana.silva@example.com", "password": PASSWORD},
        headers=headers,
    )
    assert signed.status_code == 201
    token = signed.json()["token"]

    async with db.sessionmaker() as s:
        [stored] = (await s.execute(select(Staff.password_hash))).scalars().all()
        records = (await s.execute(select(IdempotencyRecord))).scalars().all()
        tokens = (await s.execute(select(StaffSession.token_hash))).scalars().all()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert records  # the staff creation was keyed
    for record in records:
        kept = " ".join(str(getattr(record, c.key)) for c in IdempotencyRecord.__table__.columns)
        assert PASSWORD not in kept and token not in kept
    assert tokens and token not in tokens
    # Nor a fast hash of it: the request's fingerprint leaves the password out.
    without = {k: v for k, v in person().items() if k != "password"}
    fingerprint = request_fingerprint("POST", "/v1/staff", b"", json.dumps(without).encode())
    assert [r.request_hash for r in records] == [fingerprint]


async def test_an_outdated_hash_is_replaced_at_sign_in(
    client: Client, keys: Keys, db: Database
) -> None:
    await add(client, keys)
    weak = Argon2Hasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    async with db.engine.begin() as connection:
        await connection.execute(update(Staff).values(password_hash=weak))
    assert (await sign_in(client, "ana.silva@example.com")).status_code == 201
    async with db.sessionmaker() as s:
        rehashed = (await s.execute(select(Staff.password_hash))).scalar_one()
    assert rehashed != weak
    assert PASSWORDS.verify_and_update(PASSWORD, rehashed) == (True, None)


async def test_one_email_added_twice_at_once_is_one_account(client: Client, keys: Keys) -> None:
    answers = await asyncio.gather(
        *(client.post("/v1/staff", json=person(), headers=keys.admin) for _ in range(3))
    )
    assert sorted(a.status_code for a in answers) == [201, 409, 409]
    listed = (await client.get("/v1/staff", headers=keys.admin)).json()["items"]
    assert [p["email"] for p in listed] == ["ana.silva@example.com"]


async def test_a_session_in_use_is_seen_every_few_minutes(
    client: Client, keys: Keys, db: Database
) -> None:
    await add(client, keys)
    ana = await signed_in(client)
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    async with db.engine.begin() as connection:
        await connection.execute(update(StaffSession).values(last_seen_at=long_ago))
    await asyncio.sleep(CACHE_SECONDS + 0.1)
    assert (await client.get("/v1/skus", headers=ana)).status_code == 200
    async with db.sessionmaker() as s:
        seen = (await s.execute(select(StaffSession.last_seen_at))).scalar_one()
    assert seen > long_ago + timedelta(minutes=9)


async def test_a_person_reads_only_their_own_stores_customers(client: Client, keys: Keys) -> None:
    """A person of STORE-A's staff does not read a customer seen only at STORE-B (an associate
    read their profile and timeline while the order itself was hidden)."""
    await add(client, keys)
    ana = await signed_in(client)
    for store in ("STORE-A", "STORE-B"):
        receipt = {"location": store, "sku": "TEE-1", "kind": "receipt", "quantity": 3}
        await client.post("/v1/stock/movements", json=receipt, headers={**keys.admin, **idem()})
    placed = {}
    for store, email in (("STORE-A", "here@example.com"), ("STORE-B", "there@example.com")):
        response = await client.post(
            "/v1/orders",
            headers={**keys.storefront, **idem()},
            json={
                "customer": {"email": email},
                "lines": [{"sku": "TEE-1", "quantity": 1}],
                "fulfilment": {"type": "pickup", "location": store},
            },
        )
        assert response.status_code == 201, response.text
        placed[store] = response.json()["customer_id"]

    there = placed["STORE-B"]
    for path in (
        f"/v1/customers/{there}",
        f"/v1/customers/{there}/timeline",
        "/v1/customers?email=there@example.com",
    ):
        assert (await client.get(path, headers=ana)).status_code == 404, path
    own = await client.get(f"/v1/customers/{placed['STORE-A']}", headers=ana)
    assert own.status_code == 200 and own.json()["email"] == "here@example.com"
