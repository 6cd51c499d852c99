"""A refused request is answered, logged and counted like any other (issue: 401s were logged as
500, missing from the metrics and without X-Request-ID)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import structlog
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.config import Settings
from app.main import create_app
from app.platform.database import Database
from app.platform.http import observability

Client = AsyncTestClient[Litestar]


async def test_a_refused_key_is_a_401_with_a_request_id_logged_and_counted(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(replace(settings, log_level="INFO"))
    monkeypatch.setattr(observability, "access_log", structlog.get_logger("omnistock.access"))
    async with AsyncTestClient(app=app) as client:
        with structlog.testing.capture_logs() as logs:
            refused = await client.get(
                "/v1/skus", headers={"Authorization": "Bearer nope", "X-Request-ID": "refused-1"}
            )
        metrics = (await client.get("/metrics")).text
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert refused.headers["x-request-id"] == "refused-1"
    assert [(line["event"], line["status"]) for line in logs if line["event"] == "request"] == [
        ("request", 401)
    ]
    assert (
        'omnistock_requests_total{app_name="omnistock",method="GET",path="/v1/skus",'
        'status_code="401"}'
    ) in metrics


async def test_a_missing_key_is_a_401_with_a_request_id(client: Client) -> None:
    response = await client.get("/v1/skus")
    assert response.status_code == 401
    assert len(response.headers["x-request-id"]) == 32


async def test_every_answer_carries_the_security_headers(client: Client) -> None:
    for response in (await client.get("/v1/skus"), await client.get("/health/live")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]
