"""`/metrics` wants METRICS_TOKEN when it is set (issue: /metrics was public)."""

from __future__ import annotations

from dataclasses import replace

from litestar.testing import AsyncTestClient

from app.config import Settings
from app.main import create_app
from app.platform.database import Database


async def test_metrics_need_the_token_when_one_is_set(settings: Settings, db: Database) -> None:
    app = create_app(replace(settings, metrics_token="s3cret"))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = await client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200
        assert "omnistock_requests_total" in right.text
