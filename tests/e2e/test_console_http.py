"""The staff console over plain HTTP (the browser tests are in tests/browser/): its cookies,
CSRF on every form, the session ending with the staff session, forms done once however often
they are sent, and the API untouched by all of it (no cookies, no CSRF, not in the schema)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import redis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from app.access import staff
from app.access.staff_tables import StaffSession
from app.config import Settings
from app.main import create_app
from app.platform.database import Database
from app.platform.tables import utcnow
from tests.conftest import Keys, World
from tests.e2e.test_orders_pickup import level, place, stock
from tests.support.context import context_for

Client = AsyncTestClient[Litestar]
PASSWORD = "a long shift password"


@pytest.fixture
async def desk(app: Litestar) -> AsyncIterator[Client]:
    """A browser-like client on the loopback (where the cookies are not `Secure`)."""
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as test_client:
        test_client.follow_redirects = False
        yield test_client


async def add_person(
    db: Database, email: str, role: str = "associate", store: str = "STORE-A"
) -> None:
    await staff.create_staff(
        context_for(db),
        None,
        email=email,
        name=email.split("@", maxsplit=1)[0].title(),
        role=role,
        locations=[store],
        password=PASSWORD,
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def form_token_of(html: str, action: str) -> str:
    start = html.index(f'action="{action}"')
    found = re.search(r'name="form_token" value="([0-9a-f]{32})"', html[start:])
    assert found
    return found.group(1)


async def sign_in(client: Client, email: str) -> Any:
    page = await client.get("/console/sign-in")
    return await client.post(
        "/console/sign-in",
        data={"email": email, "password": PASSWORD, "_csrf_token": csrf_of(page.text)},
    )


async def test_sign_in_sets_a_server_side_session_in_a_locked_down_cookie(
    desk: Client, db: Database, world: World
) -> None:
    await add_person(db, "sam@example.com")
    signed = await sign_in(desk, "sam@example.com")
    assert signed.status_code == 303, signed.text
    assert signed.headers["location"] == "/console/pickups"
    cookie = signed.headers["set-cookie"]
    assert "omnistock_console=" in cookie
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/console" in cookie
    assert "oss_" not in cookie  # the staff token stays on the server
    queue = await desk.get("/console/pickups")
    assert queue.status_code == 200
    assert "Pickup desk" in queue.text and "Sam" in queue.text
    csp = queue.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


async def test_cookies_are_secure_away_from_the_loopback(app: Litestar, world: World) -> None:
    async with AsyncTestClient(app=app, base_url="http://desk.example.com") as remote:
        page = await remote.get("/console/sign-in")
    assert page.status_code == 200
    assert "Secure" in page.headers["set-cookie"]  # the CSRF cookie
    assert "HttpOnly" in page.headers["set-cookie"]


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    desk: Client, db: Database, world: World
) -> None:
    await add_person(db, "sam@example.com")
    await desk.get("/console/sign-in")  # has the cookie, but the form lacks the token
    refused = await desk.post(
        "/console/sign-in", data={"email": "sam@example.com", "password": PASSWORD}
    )
    assert refused.status_code == 403
    assert "Nothing was changed" in refused.text
    assert "omnistock_console=" not in refused.headers.get("set-cookie", "")
    forged = await desk.post(
        "/console/sign-in",
        data={"email": "sam@example.com", "password": PASSWORD, "_csrf_token": "0" * 128},
    )
    assert forged.status_code == 403


async def test_the_console_ends_when_the_staff_session_does(
    desk: Client, db: Database, world: World
) -> None:
    await add_person(db, "sam@example.com")
    await sign_in(desk, "sam@example.com")
    assert (await desk.get("/console/pickups")).status_code == 200
    async with db.engine.begin() as connection:
        await connection.execute(
            update(StaffSession).values(expires_at=utcnow() - timedelta(minutes=1))
        )
    ended = await desk.get("/console/pickups")
    assert ended.status_code == 303
    assert ended.headers["location"] == "/console/sign-in?ended=true"
    again = await desk.get(ended.headers["location"])
    assert "Your session has ended" in again.text
    assert (await desk.get("/console/pickups")).headers["location"] == "/console/sign-in"


async def test_pages_need_a_signed_in_person(desk: Client, world: World) -> None:
    for path in ("/console/pickups", "/console/stock", "/console/transfers", "/console/counts"):
        response = await desk.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/console/sign-in"


async def test_a_form_sent_twice_is_done_once(
    desk: Client, keys: Keys, db: Database, world: World
) -> None:
    client = desk  # the API too, through the same app (one client: one event loop)
    await stock(client, keys, "STORE-A", "TEE-1", 5)
    order = (
        await place(
            client,
            keys.storefront,
            {
                "customer": {"email": "grace@example.com", "name": "Grace Hopper"},
                "lines": [{"sku": "TEE-1", "quantity": 3}],
                "fulfilment": {"type": "pickup", "location": "STORE-A"},
            },
        )
    ).json()
    await add_person(db, "sam@example.com")
    await sign_in(desk, "sam@example.com")
    page = await desk.get(f"/console/pickups/{order['number']}")
    action = f"/console/pickups/{order['number']}/reject"
    form = {
        "_csrf_token": csrf_of(page.text),
        "form_token": form_token_of(page.text, action),
        "sku": "TEE-1",
        "reason": "damaged",
        "quantity": "1",
    }
    first = await desk.post(action, data=form)
    second = await desk.post(action, data=form)
    assert first.status_code == second.status_code == 303
    after = await desk.get(second.headers["location"])
    assert "That was done already" in after.text
    shown = (await client.get(f"/v1/orders/{order['id']}", headers=keys.admin)).json()
    assert [line["rejected_quantity"] for line in shown["lines"]] == [1]
    assert (await level(client, keys, "TEE-1", "STORE-A"))["on_hand"] == 4


async def test_the_api_needs_no_cookie_and_does_not_list_the_console(
    client: Client, keys: Keys, world: World
) -> None:
    moved = await client.post(
        "/v1/stock/movements",
        headers={**keys.admin, "Idempotency-Key": str(uuid.uuid4())},
        json={"location": "STORE-A", "sku": "TEE-1", "kind": "receipt", "quantity": 2},
    )
    assert moved.status_code == 201, moved.text
    assert "set-cookie" not in moved.headers
    schema = (await client.get("/schema/openapi.json")).json()
    assert not [path for path in schema["paths"] if path.startswith("/console")]


async def test_console_sessions_live_in_redis_when_it_is_configured(
    settings: Settings, db: Database, world: World
) -> None:
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("TEST_REDIS_URL is not set")
    await add_person(db, "sam@example.com")
    app = create_app(replace(settings, redis_url=redis_url))
    async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as first:
        first.follow_redirects = False
        assert (await sign_in(first, "sam@example.com")).status_code == 303
        session = first.cookies.get("omnistock_console")
    assert session
    stored = redis.Redis.from_url(redis_url)
    try:
        assert stored.exists(f"omnistock_console:{session}")
    finally:
        stored.close()
    async with AsyncTestClient(app=create_app(replace(settings, redis_url=redis_url))) as other:
        other.follow_redirects = False
        other.base_url = "http://127.0.0.1:8000"  # another replica, the same cookie
        other.cookies.set("omnistock_console", session)
        assert (await other.get("/console/pickups")).status_code == 200


async def test_repeated_wrong_passwords_lock_the_email_out_in_plain_words(
    desk: Client, db: Database, world: World
) -> None:
    await add_person(db, "sam@example.com")
    page = await desk.get("/console/sign-in")
    token = csrf_of(page.text)
    answers = [
        await desk.post(
            "/console/sign-in",
            data={"email": "sam@example.com", "password": "guess", "_csrf_token": token},
        )
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [401] * 5
    assert "do not match" in answers[0].text
    locked = await sign_in(desk, "sam@example.com")  # the right password, too late
    assert locked.status_code == 429
    assert "Too many wrong passwords" in locked.text
