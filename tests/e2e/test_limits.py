"""Bodies are bounded before anything holds them; deep JSON is refused (issue: a 300 MB POST with
an Idempotency-Key was read whole before the 413; nested JSON was a 500)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.config import Settings
from app.main import create_app
from app.platform.database import Database
from app.platform.http.limits import (
    BodyLimitMiddleware,
    BodyTooSlow,
    PayloadTooLarge,
    json_too_deep,
)
from tests.conftest import Keys

LIMIT = 2_000


@pytest.fixture
async def small(settings: Settings, db: Database) -> AsyncIterator[AsyncTestClient[Litestar]]:
    limited = replace(settings, max_body_bytes=LIMIT, max_webhook_body_bytes=2 * LIMIT)
    async with AsyncTestClient(app=create_app(limited)) as client:
        yield client


def _movement(padding: int) -> dict[str, object]:
    return {
        "location": "STORE-A",
        "sku": "TEE-1",
        "kind": "receipt",
        "quantity": 1,
        "reason": "x" * padding,
    }


async def test_a_body_over_the_limit_is_413_with_or_without_a_key(
    small: AsyncTestClient[Litestar], keys: Keys
) -> None:
    for headers in (keys.admin, {**keys.admin, "Idempotency-Key": str(uuid.uuid4())}):
        response = await small.post("/v1/stock/movements", headers=headers, json=_movement(LIMIT))
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
        assert response.headers["x-request-id"]


async def test_an_unauthenticated_oversized_body_is_413_before_the_key_is_checked(
    small: AsyncTestClient[Litestar],
) -> None:
    response = await small.post("/v1/stock/movements", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413


async def test_a_body_without_content_length_is_cut_off_at_the_limit(
    small: AsyncTestClient[Litestar], keys: Keys
) -> None:
    request = small.build_request(
        "POST",
        "/v1/stock/movements",
        headers={**keys.admin, "Idempotency-Key": str(uuid.uuid4())},
        content=b" " * (LIMIT + 1),
    )
    del request.headers["content-length"]  # as a chunked upload arrives: found while reading
    response = await small.send(request)
    assert response.status_code == 413


async def test_webhooks_have_their_own_larger_limit(small: AsyncTestClient[Litestar]) -> None:
    body = b"{}" + b" " * (LIMIT + 10)  # over the API's limit, under the webhooks'
    response = await small.post(f"/webhooks/shopify/{uuid.uuid4()}", content=body)
    assert response.status_code != 413
    too_big = await small.post(f"/webhooks/shopify/{uuid.uuid4()}", content=b" " * (3 * LIMIT))
    assert too_big.status_code == 413


async def test_deeply_nested_json_is_400_not_500(
    client: AsyncTestClient[Litestar], keys: Keys
) -> None:
    deep = b'{"a":' * 5000 + b"1" + b"}" * 5000
    for headers in (keys.admin, {**keys.admin, "Idempotency-Key": str(uuid.uuid4())}):
        response = await client.post(
            "/v1/stock/movements",
            headers={**headers, "Content-Type": "application/json"},
            content=deep,
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"


def test_json_depth_ignores_brackets_inside_strings() -> None:
    assert not json_too_deep(b'{"note": "' + b"[" * 100 + b'"}')
    assert json_too_deep(b"[" * 33 + b"]" * 33)
    assert not json_too_deep(b"[" * 32 + b"]" * 32)


async def test_the_middleware_stops_reading_at_the_limit() -> None:
    """What the server is sent past the limit is never read, let alone held."""
    reads = 0

    async def endless() -> dict[str, object]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * 1_000, "more_body": True}

    async def never_called(*_: object) -> None:
        raise AssertionError("the app must not be reached")

    middleware = BodyLimitMiddleware(max_body_bytes=10_000, max_webhook_body_bytes=10_000)
    scope = {"type": "http", "method": "POST", "path": "/v1/orders", "headers": []}
    with pytest.raises(PayloadTooLarge):
        await middleware.handle(scope, endless, never_called, never_called)  # type: ignore[arg-type]
    assert reads == 11


async def test_a_trickled_body_is_cut_off() -> None:
    """A client that sends its body slower than the deadline is answered 408 (issue: idle or
    trickling connections stayed open for minutes)."""

    async def trickle() -> dict[str, object]:
        await asyncio.sleep(0.2)
        return {"type": "http.request", "body": b" ", "more_body": True}

    async def never_called(*_: object) -> None:
        raise AssertionError("the app must not be reached")

    middleware = BodyLimitMiddleware(10_000, 10_000, body_seconds=0.5)
    scope = {"type": "http", "method": "POST", "path": "/v1/orders", "headers": []}
    with pytest.raises(BodyTooSlow):
        await middleware.handle(scope, trickle, never_called, never_called)  # type: ignore[arg-type]
