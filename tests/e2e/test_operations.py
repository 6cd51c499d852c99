"""Metrics, request ids and readiness."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import Keys

Client = AsyncTestClient[Litestar]


async def test_metrics_count_requests_and_ledger_movements(client: Client, keys: Keys) -> None:
    await client.post(
        "/v1/stock/movements",
        headers={**keys.admin, "Idempotency-Key": str(uuid.uuid4())},
        json={"location": "STORE-A", "sku": "TEE-1", "kind": "receipt", "quantity": 1},
    )
    await client.post(
        "/v1/stock/movements",
        headers={**keys.admin, "Idempotency-Key": str(uuid.uuid4())},
        json={"location": "STORE-A", "sku": "TEE-1", "kind": "damage", "quantity": 5},
    )
    text = (await client.get("/metrics")).text
    assert 'omnistock_stock_movements_total{kind="receipt"}' in text
    series = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("omnistock_request") and not line.startswith("omnistock_requests_in")
    }
    labels = 'app_name="omnistock",method="POST",path="/v1/stock/movements",status_code="{}"'
    assert series[f"omnistock_requests_total{{{labels.format(201)}}}"] >= 1
    assert series[f"omnistock_requests_total{{{labels.format(409)}}}"] >= 1
    assert series[f"omnistock_request_duration_seconds_count{{{labels.format(201)}}}"] >= 1
    assert not any(name.startswith("omnistock_requests_error_total{") for name in series)
    assert "omnistock_ledger_transaction_seconds_count" in text
    refused = [
        line for line in text.splitlines() if line.startswith("omnistock_insufficient_stock_total ")
    ]
    assert refused and float(refused[0].split()[1]) >= 1


async def test_request_id_is_echoed_or_made(client: Client, keys: Keys) -> None:
    given = await client.get("/v1/skus", headers={**keys.admin, "X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = await client.get("/v1/skus", headers=keys.admin)
    assert len(made.headers["x-request-id"]) == 32


async def test_ready_reports_an_unreachable_redis_as_503(client: Client, app: Litestar) -> None:
    from functools import partial

    from app.integrations.redis import ping_redis

    app.state.readiness_checks = {"redis": partial(ping_redis, "redis://127.0.0.1:1/0")}
    response = await client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "unavailable"
    assert body["error"]["details"]["redis"].startswith("error")


async def test_unreachable_database_is_503_in_the_error_shape(
    client: Client, keys: Keys, settings: object
) -> None:
    from dataclasses import replace

    from app.main import create_app

    down = replace(settings, database_url="postgresql+asyncpg://nobody@127.0.0.1:9/none")  # type: ignore[type-var]
    async with AsyncTestClient(app=create_app(down)) as no_database:
        ready = await no_database.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["error"]["details"]["database"].startswith("error")
        response = await no_database.get("/v1/skus", headers=keys.admin)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "unavailable"
